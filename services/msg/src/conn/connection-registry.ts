import type { Logger } from '@tiertalk/log';
import type { Connection } from './connection';

// docs/FLOWS.md §4 step 5: unacknowledged deliveries are dropped after 15 s, checked once per second.
const ACK_MAX_AGE_MS = 15_000;
const ACK_SWEEP_INTERVAL_MS = 1_000;

const NONE: readonly Connection[] = Object.freeze([]);

/** Every live client connection: connId → conn, userId → its connections. */
export class ConnectionRegistry {
  private readonly byId = new Map<number, Connection>();
  // A user has one connection or a few (PC and mobile): an array costs a fifth of a
  // Set (issue 13). Replaced, never changed in place, so a caller iterating a
  // user's connections may close them meanwhile.
  private readonly byUser = new Map<number, readonly Connection[]>();
  private open = 0;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly log: Logger) {}

  /** Live connections, logged in or not. */
  get size(): number {
    return this.byId.size;
  }

  /** Logged-in connections: the load published in etcd. */
  get loggedInCount(): number {
    return this.open;
  }

  add(conn: Connection): void {
    this.byId.set(conn.id, conn);
  }

  get(connId: number): Connection | undefined {
    return this.byId.get(connId);
  }

  /** Every live connection, logged in or not (broadcasts filter them); safe to close connections while iterating. */
  all(): IterableIterator<Connection> {
    return this.byId.values();
  }

  /** Every connection bound to the user (authenticating, open or being kicked). */
  connectionsOf(userId: number): readonly Connection[] {
    return this.byUser.get(userId) ?? NONE;
  }

  bindUser(conn: Connection, userId: number): void {
    if (!this.byId.has(conn.id)) return;
    conn.assignUser(userId);
    const list = this.byUser.get(userId);
    // Most users have one connection: a one-element array, copied only for a second device.
    if (list === undefined) this.byUser.set(userId, [conn]);
    else if (!list.includes(conn)) this.byUser.set(userId, list.concat(conn));
  }

  /** authenticating → open, counted in the load. */
  markOpen(conn: Connection): boolean {
    if (!this.byId.has(conn.id) || !conn.markOpen()) return false;
    this.open += 1;
    return true;
  }

  /** Called from the connection's close hook. */
  remove(conn: Connection): void {
    if (this.byId.get(conn.id) !== conn) return;
    this.byId.delete(conn.id);
    if (conn.loggedIn) this.open -= 1;
    const list = this.byUser.get(conn.userId);
    if (list) {
      const rest = list.filter((c) => c !== conn);
      // docs/FLOWS.md §12 step 3: drop the user record when no connections remain.
      if (rest.length === 0) this.byUser.delete(conn.userId);
      else this.byUser.set(conn.userId, rest);
    }
  }

  closeAll(reason: string): void {
    for (const conn of [...this.byId.values()]) conn.close(reason, 'flush');
  }

  startAckSweep(): void {
    this.sweepTimer ??= setInterval(() => this.sweepAwaiting(Date.now()), ACK_SWEEP_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Drops expired awaiting-ack entries; logged as missed only (TeamTalk never retransmits). */
  sweepAwaiting(now: number): number {
    let missed = 0;
    let connections = 0;
    for (const conn of this.byId.values()) {
      if (conn.awaitingCount === 0) continue;
      const n = conn.awaiting.sweep(now, ACK_MAX_AGE_MS);
      if (n > 0) {
        missed += n;
        connections += 1;
        conn.log.debug({ missed: n }, 'deliveries not acknowledged within 15 s');
      }
    }
    if (missed > 0) this.log.info({ missed, connections }, 'missed message acks');
    return missed;
  }
}
