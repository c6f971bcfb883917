import type { InstanceInfo } from '@tiertalk/registry';

/** What a msg gateway publishes in its etcd meta, once validated. */
export interface GatewayEndpoint {
  id: string;
  ip1: string;
  ip2: string;
  /** TCP port for TeamTalk clients. */
  port: number;
  curConn: number;
  maxConn: number;
}

export const PICK_OK = 0;
export const PICK_NONE = 1;
export const PICK_FULL = 2;

export type GatewayPick =
  | { code: typeof PICK_OK; gateway: GatewayEndpoint; invalid: readonly string[] }
  | { code: typeof PICK_NONE | typeof PICK_FULL; invalid: readonly string[] };

/**
 * flows.md §1a step 2: among gateways with curConn < maxConn, the one with the
 * smallest curConn; ties go to the lowest id (TeamTalk: lowest handle). Entries
 * whose meta does not parse are skipped and listed in `invalid`, so one broken
 * gateway cannot stop clients from logging in elsewhere.
 */
export function pickGateway(instances: Iterable<InstanceInfo>): GatewayPick {
  const invalid: string[] = [];
  const valid: GatewayEndpoint[] = [];
  for (const info of instances) {
    const gw = readGateway(info);
    if (gw) valid.push(gw);
    else invalid.push(info.id);
  }
  if (valid.length === 0) return { code: PICK_NONE, invalid };

  let best: GatewayEndpoint | undefined;
  for (const gw of valid) {
    if (gw.curConn >= gw.maxConn) continue;
    if (!best || gw.curConn < best.curConn || (gw.curConn === best.curConn && gw.id < best.id)) best = gw;
  }
  return best ? { code: PICK_OK, gateway: best, invalid } : { code: PICK_FULL, invalid };
}

/** Validates a `msg` instance's meta ({ ip1, ip2, port, maxConn, curConn }); undefined when unusable. */
export function readGateway(info: InstanceInfo): GatewayEndpoint | undefined {
  const { ip1, ip2 } = info.meta;
  const port = count(info.meta.port);
  const curConn = count(info.meta.curConn);
  const maxConn = count(info.meta.maxConn);
  if (typeof ip1 !== 'string' || ip1 === '' || typeof ip2 !== 'string' || ip2 === '') return undefined;
  if (port === undefined || port < 1 || port > 65535 || curConn === undefined || maxConn === undefined) return undefined;
  return { id: info.id, ip1, ip2, port, curConn, maxConn };
}

/** A non-negative integer, given as a number or a decimal string (meta values may be either). */
function count(v: string | number | undefined): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return undefined;
}
