import { createHash } from 'node:crypto';
import { isGroupMsgType } from '@tiertalk/proto';
import type { IM } from '@tiertalk/proto';

/**
 * The conversation a message belongs to, as the key that picks its db-proxy
 * instance (InstancePool.pickByKey): one instance at a time writes a
 * conversation's rows. 1:1 by the user pair (either direction), group by id.
 */
export function conversationKey(msg: Pick<IM.Message.IMMsgData.$Properties, 'fromUserId' | 'toSessionId' | 'msgType'>): string {
  if (isGroupMsgType(msg.msgType)) return `g:${msg.toSessionId}`;
  const a = msg.fromUserId;
  const b = msg.toSessionId;
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

/**
 * MsgStoreItem.idem_key: the same for every retry of one item, and also for a
 * client resending the same message on a new connection (TeamTalk clients
 * resend with the same seq_num, receiver and content). db-proxy scopes it by
 * the sender and a time window, so two different messages collide only if one
 * sender sends identical content to the same receiver with the same seq_num
 * within that window. 128 bits of SHA-256, hex.
 */
export function storeIdemKey(msg: Pick<IM.Message.IMMsgData.$Properties, 'toSessionId' | 'msgType' | 'msgData'>, seqNum: number): string {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(msg.toSessionId >>> 0, 0);
  head.writeUInt32BE(msg.msgType >>> 0, 4);
  head.writeUInt32BE(seqNum >>> 0, 8);
  return createHash('sha256').update(head).update(msg.msgData).digest('hex').slice(0, 32);
}
