import { IM } from '@tiertalk/proto';
import type { Pool } from 'mysql2/promise';
import { membersWithJoinTime, readPositions } from '../../store/recalls';
import type { OfflineStores } from '../message/offline-stores';
import { locate } from './recall';

const { MsgRecallResult } = IM.Message;
const { SESSION_TYPE_SINGLE, SESSION_TYPE_GROUP } = IM.BaseDefine.SessionType;

/**
 * DbProxy.MsgReaders (docs/PROTOCOL.md §6): who has read one of the caller's
 * own messages, from the read positions read acks keep (IMReadCursor): a
 * receiver has read it when their position is at or past it. In a group the
 * receivers are the current members but the sender who had joined by the
 * time it was sent; in 1:1 the peer.
 */
export class Readers {
  constructor(
    private readonly stores: OfflineStores,
    private readonly master: Pool,
  ) {}

  async readers(req: IM.Message.IMMsgReadersReq): Promise<IM.Message.IMMsgReadersRsp> {
    const { userId, sessionType, sessionId, msgId } = req;
    const answer = (resultCode: IM.Message.MsgRecallResult, read: number[] = [], unread: number[] = []): IM.Message.IMMsgReadersRsp =>
      IM.Message.IMMsgReadersRsp.create({
        userId,
        sessionType,
        sessionId,
        msgId,
        resultCode,
        readCount: read.length,
        unreadCount: unread.length,
        readUserIdList: read,
        unreadUserIdList: unread,
      });
    const found = await locate(this.stores, userId, sessionType, sessionId, msgId);
    if ('refused' in found) return answer(found.refused);
    if (found.target.fromId !== userId) return answer(MsgRecallResult.RECALL_NOT_SENDER);
    let receivers: number[];
    if (found.conversation.kind === 'single') {
      receivers = [sessionId];
    } else {
      const members = await membersWithJoinTime(this.master, sessionId);
      receivers = [...members].filter(([uid, joined]) => uid !== userId && joined <= found.target.created).map(([uid]) => uid);
    }
    // A 1:1 receiver's cursor names the sender as peer; a group member's the group.
    const peerId = found.conversation.kind === 'single' ? userId : sessionId;
    const positions = await readPositions(this.master, receivers, peerId, found.conversation.kind === 'single' ? SESSION_TYPE_SINGLE : SESSION_TYPE_GROUP);
    const sorted = [...receivers].sort((a, b) => a - b);
    return answer(
      MsgRecallResult.RECALL_OK,
      sorted.filter((uid) => (positions.get(uid) ?? 0) >= msgId),
      sorted.filter((uid) => (positions.get(uid) ?? 0) < msgId),
    );
  }
}
