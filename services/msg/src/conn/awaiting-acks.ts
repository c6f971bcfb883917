/**
 * Messages delivered to one connection and not yet acknowledged by it
 * (docs/FLOWS.md §4 steps 4.4 and 5). Only for the "missed" count in logs: TeamTalk never
 * retransmits, and neither do we. Bounded, oldest first (Map insertion order).
 */
export class AwaitingAcks {
  // Created on the first delivery: an idle connection holds no Map (issue 13).
  private entries: Map<string, number> | undefined;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries?.size ?? 0;
  }

  /** Records a delivery; returns how many old entries were evicted to stay bounded. */
  add(fromUserId: number, msgId: number, now: number): number {
    const key = keyOf(fromUserId, msgId);
    const entries = (this.entries ??= new Map());
    // Re-delivery moves the entry to the back so the sweep order stays by time.
    entries.delete(key);
    entries.set(key, now);
    let evicted = 0;
    while (entries.size > this.maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done === true) break;
      entries.delete(oldest.value);
      evicted += 1;
    }
    return evicted;
  }

  /** The receiver's IMMsgDataAck (session_id = sender). */
  remove(fromUserId: number, msgId: number): boolean {
    return this.entries?.delete(keyOf(fromUserId, msgId)) ?? false;
  }

  /** Drops entries delivered more than maxAgeMs ago; returns how many. */
  sweep(now: number, maxAgeMs: number): number {
    let dropped = 0;
    if (this.entries === undefined) return 0;
    for (const [key, at] of this.entries) {
      if (now - at < maxAgeMs) break;
      this.entries.delete(key);
      dropped += 1;
    }
    return dropped;
  }

  clear(): void {
    this.entries = undefined;
  }
}

function keyOf(fromUserId: number, msgId: number): string {
  return `${fromUserId}:${msgId}`;
}
