import { CID, IM, tiertalk } from '@tiertalk/proto';

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

  /**
   * The pushes for every desktop connection of the gateway, empty when
   * nothing is pending; empties the list. `lists`: the gateway applies
   * Push.presence (one push for all); an older gateway gets one push per
   * user, excluding only the user's latest logging-in connection.
   */
  take(lists: boolean): tiertalk.Push.$Properties[] {
    if (this.changes.size === 0) return [];
    const changes = this.changes;
    this.changes = new Map();
    const base = { commandId: CID.CID_BUDDY_LIST_STATUS_NOTIFY, allUsers: true, clientClass: tiertalk.ClientClass.CLIENT_CLASS_PC };
    if (lists) {
      const presence: tiertalk.PresenceChange.$Properties[] = [];
      for (const [userId, c] of changes) presence.push({ userId, status: c.status, ...(c.exclude ? { excludeConnIds: c.exclude } : {}) });
      return [{ ...base, body: EMPTY_BODY, presence }];
    }
    const pushes: tiertalk.Push.$Properties[] = [];
    for (const [userId, c] of changes) {
      const body = IM.Buddy.IMUserStatNotify.encode({ userStat: { userId, status: c.status } }).finish();
      const exclude = c.exclude?.at(-1);
      pushes.push({ ...base, body, ...(exclude !== undefined ? { originConnId: exclude } : {}) });
    }
    return pushes;
  }

  clear(): void {
    this.changes = new Map();
  }
}
