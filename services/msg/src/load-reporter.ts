import type { Logger } from '@tiertalk/log';
import type { Registration } from '@tiertalk/registry';
import type { ConnectionRegistry } from './conn/connection-registry';
import type { LoadSink } from './gateway-context';

/** What the login server needs to hand this gateway to clients (docs/FLOWS.md §1, ARCHITECTURE.md etcd layout). */
export interface GatewayAddress {
  ip1: string;
  ip2: string;
  /** Plain TeamTalk TCP; 0 when switched off. */
  port: number;
  wsPort: number;
  /** 1: the WebSocket port speaks wss:// (browsers must then use wss://). */
  wss?: number;
  /** TeamTalk over TLS, when the gateway has such a listener. */
  tlsPort?: number;
  maxConn: number;
  /** Per-process epoch: route matches session gateway ids `<instanceId>@<epoch>` against it. */
  epoch: string;
  /** 1: this gateway applies route's coalesced presence lists (Push.presence); route sends older gateways one push per change. */
  presenceLists: number;
  /** The Prometheus port (TT_METRICS_PORT), when one is open. */
  metricsPort?: number;
}

/**
 * Publishes load = logged-in connections to etcd: at most one update per
 * `minIntervalMs` (the first change of a quiet gateway goes out at once, the
 * rest of a burst at the end of the interval). Every update is a put that
 * route, login and the other gateways' watches decode, and one per login
 * cost a login storm more than a tenth of those tiers' CPU; login's
 * balancer counts its own picks between two reports (gateway-balancer.ts).
 */
export class LoadReporter implements LoadSink {
  private registration: Registration | undefined;
  private address: GatewayAddress | undefined;
  private pending: NodeJS.Timeout | undefined;
  private lastSentAt = 0;

  constructor(
    private readonly connections: ConnectionRegistry,
    private readonly log: Logger,
    private readonly minIntervalMs: number,
  ) {}

  /** The current value, also used for the first registration. */
  snapshot(address: GatewayAddress): { load: number; meta: Record<string, string | number> } {
    const cur = this.connections.loggedInCount;
    return { load: cur, meta: { ...address, curConn: cur } };
  }

  /** Once registered (the listeners' ports are known then). */
  attach(registration: Registration, address: GatewayAddress): void {
    this.registration = registration;
    this.address = address;
    this.changed();
  }

  changed(): void {
    if (!this.registration || this.pending) return;
    // Changes within one event-loop turn become one update even when the interval has passed.
    const wait = Math.max(0, this.lastSentAt + this.minIntervalMs - Date.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      const reg = this.registration;
      if (!reg || reg.closed || !this.address) return;
      this.lastSentAt = Date.now();
      reg.update(this.snapshot(this.address)).catch((err: unknown) => this.log.warn({ err }, 'load update failed'));
    }, wait);
  }

  /** Before deregistering: no more updates. */
  detach(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    this.registration = undefined;
  }
}
