// Redis key names exactly as TeamTalk's db-proxy spells them (docs/STORAGE.md §2),
// so a TeamTalk db-proxy and TierTalk can share one Redis.
export const redisKeys = {
  /** unread instance: last allocated 1:1 msg id of a relation. */
  msgIdCounter: (relateId: number) => `msg_id_${relateId}`,
  /** unread instance: last allocated group msg id. */
  groupMsgIdCounter: (groupId: number) => `group_msg_id_${groupId}`,
  /** unread instance: hash peerUserId → unread 1:1 count. */
  unread: (userId: number) => `unread_${userId}`,
  /** group_member instance: hash userId → join time. */
  groupMembers: (groupId: number) => `group_member_${groupId}`,
  /** token instance: failed login attempts of a name (TierTalk's own; TeamTalk kept them in memory). */
} as const;

/** TeamTalk shards 1:1 messages by relation id and group messages by group id, 8 tables each. */
export const SHARD_COUNT = 8;
export const messageTable = (relateId: number) => `IMMessage_${relateId % SHARD_COUNT}`;
export const groupMessageTable = (groupId: number) => `IMGroupMessage_${groupId % SHARD_COUNT}`;
