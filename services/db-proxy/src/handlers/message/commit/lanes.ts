import { IM, isGroupMsgType } from '@tiertalk/proto';

// Commit lanes (TT_STORE_COMMIT_LANES): pending messages are partitioned by
// conversation — the 1:1 pair, or the group — and each lane runs one commit
// at a time. All messages of a conversation go to one lane, so they are
// committed in arrival order and take their msg ids from the conversation's
// counter in that order, while commits of other conversations run beside
// them. Everything a commit writes per conversation (message rows, its
// IMRecentSession and IMReadCursor rows, unread and group counters, the
// relation, the group's last-chatted time and members' session rows)
// therefore belongs to one lane; what lanes share (IMMessage_n tables,
// IMMsgIdempotency, IMCounterOutbox) is only inserted into with distinct keys.

/** The lane of a message: the same for both directions of a 1:1 pair, and for every message of a group. */
export function laneOf(msg: Pick<IM.Message.IMMsgData.$Properties, 'fromUserId' | 'toSessionId' | 'msgType'>, lanes: number): number {
  if (lanes <= 1) return 0;
  const key = isGroupMsgType(msg.msgType)
    ? mix(msg.toSessionId >>> 0, 0x9e3779b9)
    : mix(Math.min(msg.fromUserId, msg.toSessionId) >>> 0, Math.max(msg.fromUserId, msg.toSessionId) >>> 0);
  return key % lanes;
}

/** A 32-bit hash of two ids (multiply-xorshift), so consecutive user ids spread over the lanes. */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x85ebca6b, 0xcc9e2d51);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0x1b873593);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
