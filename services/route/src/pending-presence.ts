import { CID, type tiertalk } from '@tiertalk/proto';
import { CLIENT_CLASS_PC } from './handlers/session/presence';
const EMPTY_BODY = new Uint8Array(0);

interface Change {
  status: number;
  /** The logging-in connections of this gateway since the user last went offline here. */
  exclude: number[] | undefined;
}

/**
 * One gateway's desktop presence changes (docs/FLOWS.md §5 IMUserStatNotify)
 * waiting for the next flush: per user only the latest status, so a user
 * who flapped within the interval is reported once, with where it ended.
 * That final status is sent even when it is where the user started: a
 * receiver that logged in meanwhile may have asked and seen the middle one.
 */
export class PendingPresence {
  private changes = new Map<number, Change>();

  get size(): number {
    return this.changes.size;
  }

  /**
   * Records a change; `excludeConnId` is the logging-in connection when it is
   * on this gateway (its gateway tells it itself after the login response).
   * Returns true when it replaced a change of the same user not sent yet.
   */
  add(userId: number, status: number, excludeConnId?: number): boolean {
    const earlier = this.changes.get(userId);
    // A connection that logged in earlier in the interval knows its user is
    // online; once the user went offline those connections are gone.
    const exclude = earlier && earlier.status === status ? earlier.exclude : undefined;
    const next: Change = { status, exclude };
    if (excludeConnId !== undefined) next.exclude = [...(exclude ?? []), excludeConnId];
    // Re-inserted, so the list follows the order of each user's last change.
    this.changes.delete(userId);
    this.changes.set(userId, next);
    return earlier !== undefined;
  }

  /** The Push for every desktop connection of the gateway carrying the changes, or undefined when none; empties the list. */
  take(): tiertalk.Push.$Properties | undefined {
    if (this.changes.size === 0) return undefined;
    const presence: tiertalk.PresenceChange.$Properties[] = [];
    for (const [userId, c] of this.changes) presence.push({ userId, status: c.status, ...(c.exclude ? { excludeConnIds: c.exclude } : {}) });
    this.changes = new Map();
    return { commandId: CID.CID_BUDDY_LIST_STATUS_NOTIFY, body: EMPTY_BODY, allUsers: true, clientClass: CLIENT_CLASS_PC, presence };
  }

  clear(): void {
    this.changes = new Map();
  }
}
