/** What an instance publishes under `${prefix}/services/${service}/${id}` (docs/ARCHITECTURE.md). */
export interface InstanceInfo {
  id: string;
  service: string;
  /** gRPC address, "host:port". */
  addr: string;
  load: number;
  meta: Record<string, string | number>;
}

/** meta key an instance sets just before it deregisters on purpose (graceful stop). */
export const LEAVING_META_KEY = 'leaving';

/** True when the instance announced a deliberate deregistration: callers stop picking it at once. */
export function isLeaving(info: InstanceInfo): boolean {
  return info.meta[LEAVING_META_KEY] === 1;
}

export function instanceKey(prefix: string, service: string, id: string): string {
  return `${serviceKeyPrefix(prefix, service)}${id}`;
}

/** Trailing slash so that service "msg" does not match "msg-x". */
export function serviceKeyPrefix(prefix: string, service: string): string {
  return `${prefix}/services/${service}/`;
}

/** Throws when info cannot be published (bad id, non-finite load...). */
export function assertInstanceInfo(info: InstanceInfo): void {
  const problem = describeProblem(info);
  if (problem) throw new TypeError(`invalid InstanceInfo: ${problem}`);
}

/** Parses a stored value; undefined when it is not a valid InstanceInfo. */
export function parseInstanceInfo(raw: string): InstanceInfo | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = Object.fromEntries(Object.entries(v));
  const { id, service, addr, load, meta } = o;
  if (typeof id !== 'string' || typeof service !== 'string' || typeof addr !== 'string' || typeof load !== 'number') return undefined;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return undefined;
  const m: Record<string, string | number> = {};
  for (const [k, val] of Object.entries(meta)) {
    if (typeof val !== 'string' && typeof val !== 'number') return undefined;
    m[k] = val;
  }
  const info: InstanceInfo = { id, service, addr, load, meta: m };
  return describeProblem(info) ? undefined : info;
}

function describeProblem(info: InstanceInfo): string | undefined {
  if (!isName(info.id)) return `id ${JSON.stringify(info.id)} must be non-empty without "/"`;
  if (!isName(info.service)) return `service ${JSON.stringify(info.service)} must be non-empty without "/"`;
  if (typeof info.addr !== 'string' || info.addr === '') return 'addr must be "host:port"';
  if (typeof info.load !== 'number' || !Number.isFinite(info.load)) return 'load must be a finite number';
  if (typeof info.meta !== 'object' || info.meta === null) return 'meta must be an object';
  return undefined;
}

export function isName(s: unknown): s is string {
  return typeof s === 'string' && s !== '' && !s.includes('/');
}

export function sameInfo(a: InstanceInfo, b: InstanceInfo): boolean {
  if (a.id !== b.id || a.service !== b.service || a.addr !== b.addr || a.load !== b.load) return false;
  const ka = Object.keys(a.meta);
  if (ka.length !== Object.keys(b.meta).length) return false;
  return ka.every((k) => a.meta[k] === b.meta[k]);
}
