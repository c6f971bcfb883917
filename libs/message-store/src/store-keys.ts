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
 * client resending the same message on a new connection (same seq_num,
 * receiver, content and the create_time the client put in it). db-proxy scopes
 * it by the sender and a time window. The client's create_time (not the
 * server's stamp) keeps two different sends apart that only share seq and
 * text: an SDK numbers each connection from 1, so "ok" sent as the first
 * message of two short sessions would otherwise be taken for one message and
 * the second never stored. 128 bits of SHA-256, hex.
 */
export function storeIdemKey(msg: Pick<IM.Message.IMMsgData.$Properties, 'toSessionId' | 'msgType' | 'msgData'>, seqNum: number, clientCreateTime: number): string {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(msg.toSessionId >>> 0, 0);
  head.writeUInt32BE(msg.msgType >>> 0, 4);
  head.writeUInt32BE(seqNum >>> 0, 8);
  head.writeUInt32BE(clientCreateTime >>> 0, 12);
  return createHash('sha256').update(head).update(msg.msgData).digest('hex').slice(0, 32);
}
