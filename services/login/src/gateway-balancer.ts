import type { InstanceInfo } from '@tiertalk/registry';
import { GatewayEndpoint, GatewayPick, PICK_OK, pickGateway } from './gateway-picker';

/**
 * A client handed an address logs in within seconds or not at all. When no load
 * report has come this long after the first of a gateway's hand-outs, they are
 * forgotten, so clients that never came cannot keep the gateway "full" for ever.
 */
export const HAND_OUT_WINDOW_MS = 10_000;

export interface GatewayBalancerOptions {
  windowMs?: number;
  now?: () => number;
  random?: () => number;
}

interface Tally {
  /** The curConn of the load report the count started from. */
  reported: number;
  handedOut: number;
  /** When the first of `handedOut` was given. */
  since: number;
}

/**
 * Gateways report their connection count only now and then (services/msg
 * load-reporter), so between two reports the least-loaded pick alone sends a
 * whole login burst to one gateway. This counts the addresses handed out per
 * gateway since its last report and picks by reported load + that count
 * (gateway-picker: fewest first, full ones skipped). One instance serves both
 * login listeners, so HTTP and legacy TCP answers count alike.
 */
export class GatewayBalancer {
  private readonly tallies = new Map<string, Tally>();
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(opts: GatewayBalancerOptions = {}) {
    this.windowMs = opts.windowMs ?? HAND_OUT_WINDOW_MS;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  pick(instances: Iterable<InstanceInfo>): GatewayPick {
    const list = [...instances];
    const live = new Set(list.map((i) => i.id));
    // A gateway gone from etcd takes its count with it (a restart starts afresh).
    for (const id of this.tallies.keys()) if (!live.has(id)) this.tallies.delete(id);

    const now = this.now();
    const pick = pickGateway(list, { pending: (gw) => this.current(gw, now)?.handedOut ?? 0, random: this.random });
    if (pick.code === PICK_OK) {
      const tally = this.current(pick.gateway, now);
      if (tally) tally.handedOut += 1;
      else this.tallies.set(pick.gateway.id, { reported: pick.gateway.curConn, handedOut: 1, since: now });
    }
    return pick;
  }

  /** Hand-outs counted for a gateway; 0 once a report or the window cleared them. */
  handedOut(gw: GatewayEndpoint): number {
    return this.current(gw, this.now())?.handedOut ?? 0;
  }

  /**
   * The gateway's tally, dropped when a new load report (another curConn) arrived or it outlived the window.
   * A report is told by its value: the gateway puts curConn only when it changes, and a report of
   * the same count means the clients sent there have not (all) arrived, so keeping the tally is right.
   */
  private current(gw: GatewayEndpoint, now: number): Tally | undefined {
    const tally = this.tallies.get(gw.id);
    if (!tally) return undefined;
    if (tally.reported === gw.curConn && now - tally.since < this.windowMs) return tally;
    this.tallies.delete(gw.id);
    return undefined;
  }
}
