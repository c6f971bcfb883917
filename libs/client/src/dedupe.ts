// A device never shows the same message twice: remember which msg ids of each
// session were shown. Message ids per session strictly increase (docs/FLOWS.md §4),
// so memory stays bounded without forgetting: past the window the lowest ids
// are dropped and replaced by a floor ("everything up to here was seen"), and
// a session pushed out of the LRU keeps its floor (one number) in a larger
// second tier. A fresh id below the floor would have to arrive hundreds of ids
// late; it is then reported as a duplicate rather than risk showing one twice.
export interface SeenMessagesOptions {
  /** msg ids remembered exactly per session before the lowest half folds into the floor. Default 1024. */
  perSession?: number;
  /** sessions remembered with their ids (least recently used first to go). Default 4096. */
  maxSessions?: number;
  /** sessions remembered by floor only, after they left the first tier. Default 16 × maxSessions. */
  maxFloors?: number;
}

interface SessionSeen {
  /** Every id <= floor counts as seen. */
  floor: number;
  ids: Set<number>;
}

export class SeenMessages {
  private readonly perSession: number;
  private readonly maxSessions: number;
  private readonly maxFloors: number;
  // Map iterates in insertion order, which gives LRU eviction for free.
  private readonly sessions = new Map<string, SessionSeen>();
  private readonly floors = new Map<string, number>();

  constructor(opts: SeenMessagesOptions = {}) {
    this.perSession = Math.max(2, opts.perSession ?? 1024);
    this.maxSessions = Math.max(1, opts.maxSessions ?? 4096);
    this.maxFloors = Math.max(1, opts.maxFloors ?? this.maxSessions * 16);
  }

  /** Records (session, msgId); returns false when it was already seen. */
  add(session: string, msgId: number): boolean {
    const s = this.touch(session);
    if (msgId <= s.floor || s.ids.has(msgId)) return false;
    s.ids.add(msgId);
    if (s.ids.size > this.perSession) this.fold(s);
    return true;
  }

  /** Whether (session, msgId) was seen, without recording it. */
  has(session: string, msgId: number): boolean {
    const s = this.sessions.get(session);
    if (s) return msgId <= s.floor || s.ids.has(msgId);
    return msgId <= (this.floors.get(session) ?? 0);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private touch(session: string): SessionSeen {
    let s = this.sessions.get(session);
    if (s) {
      this.sessions.delete(session);
    } else {
      const floor = this.floors.get(session) ?? 0;
      this.floors.delete(session);
      s = { floor, ids: new Set<number>() };
      if (this.sessions.size >= this.maxSessions) this.retireOldest();
    }
    this.sessions.set(session, s);
    return s;
  }

  /** Drops the lowest half of the ids into the floor (amortised O(log n) per id). */
  private fold(s: SessionSeen): void {
    const sorted = [...s.ids].sort((a, b) => a - b);
    const cut = Math.floor(sorted.length / 2);
    s.floor = Math.max(s.floor, sorted[cut - 1]);
    s.ids = new Set(sorted.slice(cut));
  }

  private retireOldest(): void {
    const oldest = this.sessions.entries().next();
    if (oldest.done) return;
    const [key, s] = oldest.value;
    this.sessions.delete(key);
    let max = s.floor;
    for (const id of s.ids) if (id > max) max = id;
    if (this.floors.size >= this.maxFloors) {
      const first = this.floors.keys().next();
      if (!first.done) this.floors.delete(first.value);
    }
    this.floors.set(key, max);
  }
}
