// A device never shows the same message twice: remember the last msg ids per
// session. Bounded both ways (ids per session, sessions) so a long-lived client
// does not grow without limit.
export interface SeenMessagesOptions {
  /** msg ids remembered per session (oldest forgotten first). Default 1024. */
  perSession?: number;
  /** sessions remembered (least recently used forgotten first). Default 4096. */
  maxSessions?: number;
}

export class SeenMessages {
  private readonly perSession: number;
  private readonly maxSessions: number;
  // Map and Set iterate in insertion order, which gives LRU / FIFO eviction for free.
  private readonly sessions = new Map<string, Set<number>>();

  constructor(opts: SeenMessagesOptions = {}) {
    this.perSession = Math.max(1, opts.perSession ?? 1024);
    this.maxSessions = Math.max(1, opts.maxSessions ?? 4096);
  }

  /** Records (session, msgId); returns false when it was already seen. */
  add(session: string, msgId: number): boolean {
    let ids = this.sessions.get(session);
    if (ids) {
      this.sessions.delete(session);
    } else {
      ids = new Set<number>();
      if (this.sessions.size >= this.maxSessions) {
        const oldest = this.sessions.keys().next();
        if (!oldest.done) this.sessions.delete(oldest.value);
      }
    }
    this.sessions.set(session, ids);
    if (ids.has(msgId)) return false;
    ids.add(msgId);
    if (ids.size > this.perSession) {
      const oldest = ids.values().next();
      if (!oldest.done) ids.delete(oldest.value);
    }
    return true;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }
}
