/**
 * Messages delivered to one connection and not yet acknowledged by it
 * (docs/FLOWS.md §4 steps 4.4 and 5). Only for the "missed" count in logs: TeamTalk never
 * retransmits, and neither do we. Bounded, oldest first (Map insertion order).
 */
export class AwaitingAcks {
  private readonly entries = new Map<string, number>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Records a delivery; returns how many old entries were evicted to stay bounded. */
  add(fromUserId: number, msgId: number, now: number): number {
    const key = keyOf(fromUserId, msgId);
    // Re-delivery moves the entry to the back so the sweep order stays by time.
    this.entries.delete(key);
    this.entries.set(key, now);
    let evicted = 0;
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
      evicted += 1;
    }
    return evicted;
  }

  /** The receiver's IMMsgDataAck (session_id = sender). */
  remove(fromUserId: number, msgId: number): boolean {
    return this.entries.delete(keyOf(fromUserId, msgId));
  }

  /** Drops entries delivered more than maxAgeMs ago; returns how many. */
  sweep(now: number, maxAgeMs: number): number {
    let dropped = 0;
    for (const [key, at] of this.entries) {
      if (now - at < maxAgeMs) break;
      this.entries.delete(key);
      dropped += 1;
    }
    return dropped;
  }

  clear(): void {
    this.entries.clear();
  }
}

function keyOf(fromUserId: number, msgId: number): string {
  return `${fromUserId}:${msgId}`;
}
