/**
 * Which connections each recent message was written to, so a push that comes
 * again is not shown twice: route resends every PushBatch this gateway did not
 * acknowledge, and a gateway resends every envelope route did not report
 * (docs/RELIABILITY.md). A message is named by the caller (1:1: from, to, msg
 * id; group: group id, msg id). Bounded by messages and by (message,
 * connection) pairs remembered; the oldest messages are forgotten first.
 */
export class DeliveredMessages {
  private readonly byMessage = new Map<string, number[]>();
  private pairs = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxPairs: number,
  ) {}

  /** Messages remembered. */
  get size(): number {
    return this.byMessage.size;
  }

  /**
   * The connections of `conns` that `message` was not written to yet, now
   * remembered as written. The first push of a message (the common case)
   * costs one lookup and one array.
   */
  firstTimeFor<C extends { readonly id: number }>(message: string, conns: readonly C[]): readonly C[] {
    const seen = this.byMessage.get(message);
    if (seen === undefined) {
      const ids = new Array<number>(conns.length);
      for (let i = 0; i < conns.length; i++) ids[i] = conns[i].id;
      this.remember(message, ids, ids.length);
      return conns;
    }
    const known = new Set(seen);
    const fresh = conns.filter((c) => !known.has(c.id));
    if (fresh.length === 0) return fresh;
    // Re-inserted, so a message still being resent is forgotten last.
    this.byMessage.delete(message);
    this.remember(message, seen.concat(fresh.map((c) => c.id)), fresh.length);
    return fresh;
  }

  private remember(message: string, ids: number[], added: number): void {
    this.byMessage.set(message, ids);
    this.pairs += added;
    while (this.byMessage.size > this.maxMessages || (this.pairs > this.maxPairs && this.byMessage.size > 1)) {
      const oldest = this.byMessage.entries().next();
      if (oldest.done) break;
      this.byMessage.delete(oldest.value[0]);
      this.pairs -= oldest.value[1].length;
    }
  }
}
