import type { InstanceInfo } from '@tiertalk/registry';

/** What a msg gateway publishes in its etcd meta, once validated. */
export interface GatewayEndpoint {
  id: string;
  ip1: string;
  ip2: string;
  /** TCP port for TeamTalk clients; 0 when the gateway serves TLS only. */
  port: number;
  /** TeamTalk over TLS (docs/SECURITY.md); undefined when the gateway has no TLS listener. */
  tlsPort?: number;
  /** The WebSocket port (browsers, docs/WEB-CLIENT.md); undefined when not published or not a valid port. */
  wsPort?: number;
  /** The WebSocket port speaks wss:// (meta `wss: 1`). */
  wss?: boolean;
  curConn: number;
  maxConn: number;
}

export const PICK_OK = 0;
export const PICK_NONE = 1;
export const PICK_FULL = 2;

export type GatewayPick =
  | { code: typeof PICK_OK; gateway: GatewayEndpoint; invalid: readonly string[] }
  | { code: typeof PICK_NONE | typeof PICK_FULL; invalid: readonly string[] };

export interface PickOptions {
  /** Clients sent to this gateway since its last load report (GatewayBalancer); 0 when not given. */
  pending?: (gw: GatewayEndpoint) => number;
  /** In [0, 1); breaks ties. */
  random?: () => number;
}

/**
 * docs/FLOWS.md §1a step 2: among gateways with room (curConn + pending < maxConn),
 * the one with the smallest curConn + pending. Ties are broken at random, not by
 * id as TeamTalk did: several login instances (each counting only its own
 * answers) then do not all send a burst's first clients to the same gateway.
 * Entries whose meta does not parse are skipped and listed in `invalid`, so one
 * broken gateway cannot stop clients from logging in elsewhere.
 */
export function pickGateway(instances: Iterable<InstanceInfo>, opts: PickOptions = {}): GatewayPick {
  const pending = opts.pending ?? (() => 0);
  const random = opts.random ?? Math.random;
  const invalid: string[] = [];
  const valid: GatewayEndpoint[] = [];
  for (const info of instances) {
    const gw = readGateway(info);
    if (gw) valid.push(gw);
    else invalid.push(info.id);
  }
  if (valid.length === 0) return { code: PICK_NONE, invalid };

  let best: GatewayEndpoint | undefined;
  let bestLoad = 0;
  let ties = 0;
  for (const gw of valid) {
    const load = gw.curConn + pending(gw);
    if (load >= gw.maxConn) continue;
    if (!best || load < bestLoad) {
      best = gw;
      bestLoad = load;
      ties = 1;
    } else if (load === bestLoad) {
      // Reservoir sampling: each of the n tied gateways ends up chosen with probability 1/n.
      ties += 1;
      if (random() * ties < 1) best = gw;
    }
  }
  return best ? { code: PICK_OK, gateway: best, invalid } : { code: PICK_FULL, invalid };
}

/** Validates a `msg` instance's meta ({ ip1, ip2, port, tlsPort?, wsPort?, wss?, maxConn, curConn }); undefined when unusable. */
export function readGateway(info: InstanceInfo): GatewayEndpoint | undefined {
  const { ip1, ip2 } = info.meta;
  const port = count(info.meta.port);
  const tlsPort = info.meta.tlsPort === undefined ? undefined : count(info.meta.tlsPort);
  const curConn = count(info.meta.curConn);
  const maxConn = count(info.meta.maxConn);
  if (typeof ip1 !== 'string' || ip1 === '' || typeof ip2 !== 'string' || ip2 === '') return undefined;
  if (port === undefined || port > 65535 || curConn === undefined || maxConn === undefined) return undefined;
  const validTls = tlsPort !== undefined && tlsPort >= 1 && tlsPort <= 65535;
  if (info.meta.tlsPort !== undefined && !validTls) return undefined;
  // Port 0 = plain TCP switched off: usable only through its TLS port.
  if (port === 0 && !validTls) return undefined;
  // A bad wsPort costs browsers this gateway, not TeamTalk clients.
  const wsPort = count(info.meta.wsPort);
  const validWs = wsPort !== undefined && wsPort >= 1 && wsPort <= 65535;
  const wss = validWs && count(info.meta.wss) === 1;
  return { id: info.id, ip1, ip2, port, ...(validTls ? { tlsPort } : {}), ...(validWs ? { wsPort } : {}), ...(wss ? { wss } : {}), curConn, maxConn };
}

/** A non-negative integer, given as a number or a decimal string (meta values may be either). */
function count(v: string | number | undefined): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return undefined;
}
