import { clientAddressKey, type RefusalLog } from '@tiertalk/metrics';
import type { AdmissionLimits } from '../config';

/**
 * A connection's place in its address's counts. Released once, by whichever
 * comes first: the socket closing or the connection closing.
 */
export interface AdmissionTicket {
  /** The address the limits were counted under (an IPv4 address or an IPv6 /64). */
  readonly ipKey: string;
  /** The login succeeded: no longer counted as unauthenticated (idempotent). */
  loggedIn(): void;
  /** The connection is gone (idempotent). */
  release(): void;
}

interface PerIp {
  open: number;
  unauth: number;
}

/** One object per connection, methods on the prototype: no closures held per idle connection (issue 13). */
class Ticket implements AdmissionTicket {
  private authenticated = false;
  private released = false;

  constructor(
    private readonly byIp: Map<string, PerIp>,
    private readonly entry: PerIp,
    readonly ipKey: string,
  ) {}

  loggedIn(): void {
    if (this.authenticated || this.released) return;
    this.authenticated = true;
    this.entry.unauth -= 1;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.entry.open -= 1;
    if (!this.authenticated) this.entry.unauth -= 1;
    if (this.entry.open === 0) this.byIp.delete(this.ipKey);
  }
}

/**
 * Who may open a client connection (TCP or WebSocket): at most
 * TT_MAX_CONN_PER_IP connections and TT_MAX_UNAUTH_CONN_PER_IP not yet logged
 * in per client address, and for WebSocket only listed browser origins.
 * Refusals go through the RefusalLog, never one log line per attempt.
 */
export class ClientAdmission {
  private readonly byIp = new Map<string, PerIp>();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly refusals: RefusalLog,
  ) {}

  /** Counts a new connection from `remoteIp`, or refuses it (undefined). */
  admit(remoteIp: string | undefined): AdmissionTicket | undefined {
    const ipKey = addressKey(remoteIp ?? '?');
    const entry = this.byIp.get(ipKey) ?? { open: 0, unauth: 0 };
    const { maxConnPerIp, maxUnauthPerIp } = this.limits;
    if (maxConnPerIp > 0 && entry.open >= maxConnPerIp) {
      this.refusals.refuse('conn_per_ip_limit', ipKey, { limit: maxConnPerIp });
      return undefined;
    }
    if (maxUnauthPerIp > 0 && entry.unauth >= maxUnauthPerIp) {
      this.refusals.refuse('unauth_per_ip_limit', ipKey, { limit: maxUnauthPerIp });
      return undefined;
    }
    entry.open += 1;
    entry.unauth += 1;
    this.byIp.set(ipKey, entry);
    return new Ticket(this.byIp, entry, ipKey);
  }

  /**
   * WebSocket `Origin` check against TT_WS_ALLOWED_ORIGINS. Unset: every origin.
   * A request without Origin is not from a browser (the SDK, native clients)
   * and cannot be a cross-site page's, so it is allowed.
   */
  originAllowed(origin: string | undefined, remoteIp: string | undefined): boolean {
    const allowed = this.limits.wsAllowedOrigins;
    if (allowed === undefined || origin === undefined) return true;
    if (allowed.includes(origin)) return true;
    this.refusals.refuse('ws_origin_refused', addressKey(remoteIp ?? '?'), { origin: origin.slice(0, 200) });
    return false;
  }

  /** Connections counted for an address (tests and diagnostics). */
  countsOf(remoteIp: string): { open: number; unauth: number } {
    const e = this.byIp.get(addressKey(remoteIp));
    return { open: e?.open ?? 0, unauth: e?.unauth ?? 0 };
  }
}

/** The address's key (clientAddressKey); an address that does not parse is its own key. */
export function addressKey(ip: string): string {
  return clientAddressKey(ip) ?? ip;
}
