import type { Pool } from 'mysql2/promise';
import type { Logger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import type { ConversationEntry } from '../../store/conversation-index';
import type { MessageRecord } from '../../store/message-reader';
import { activeSessions, markSessionRemoved } from '../../store/recent-sessions';
import { isValidMsgType, previewData } from '../message/msg-info';
import type { OfflineStores } from '../message/offline-stores';
import type { ReadAcks } from '../message/read-ack';
import { checkSession, checkUser } from '../message/session-access';

const { SESSION_TYPE_SINGLE, SESSION_TYPE_GROUP } = IM.BaseDefine.SessionType;
const { SESSION_STATUS_OK } = IM.BaseDefine.SessionStatusType;

// docs/FLOWS.md §8: TeamTalk answers at most 100 sessions.
export const MAX_SESSIONS = 100;

/**
 * Recent sessions (docs/FLOWS.md §8). The list comes from the conversation index
 * in the sync Redis when it is there and whole, else from IMRecentSession (and
 * a missing index is rebuilt from it); the latest message of each session
 * comes from the message shards. Sessions without a message are omitted.
 */
export class RecentSessions {
  constructor(
    private readonly stores: OfflineStores,
    private readonly acks: ReadAcks,
    private readonly pools: { master: Pool; replica: Pool },
    private readonly log: Logger,
  ) {}

  async list(req: IM.Buddy.IMRecentContactSessionReq): Promise<IM.Buddy.IMRecentContactSessionRsp> {
    const userId = req.userId;
    checkUser(userId);
    const since = req.latestUpdateTime;
    const entries = await this.sessionsSince(userId, since);

    const singles = entries.filter((e) => e.type === SESSION_TYPE_SINGLE).map((e) => e.peerId);
    const groups = entries.filter((e) => e.type === SESSION_TYPE_GROUP).map((e) => e.peerId);
    const relations = await this.stores.relations.findMany(userId, singles);
    const [singleLatest, groupLatest] = await Promise.all([this.stores.messages.latest([...relations.values()]), this.stores.groups.latest(groups)]);

    const contactSessionList: IM.BaseDefine.ContactSessionInfo.$Properties[] = [];
    for (const e of entries) {
      let last: MessageRecord | undefined;
      let from = 0;
      if (e.type === SESSION_TYPE_SINGLE) {
        const relateId = relations.get(e.peerId);
        last = relateId === undefined ? undefined : singleLatest.get(relateId);
        // TeamTalk reports the peer as the sender of a 1:1 session's last message.
        from = e.peerId;
      } else {
        last = groupLatest.get(e.peerId);
        from = last?.fromId ?? 0;
      }
      if (last === undefined || !isValidMsgType(last.type)) continue;
      contactSessionList.push({
        sessionId: e.peerId,
        sessionType: e.type === SESSION_TYPE_SINGLE ? SESSION_TYPE_SINGLE : SESSION_TYPE_GROUP,
        sessionStatus: SESSION_STATUS_OK,
        updatedTime: e.updated,
        latestMsgId: last.msgId,
        latestMsgData: previewData(last, this.stores.audioPreview),
        latestMsgType: last.type,
        latestMsgFromUserId: from,
      });
    }
    return IM.Buddy.IMRecentContactSessionRsp.create({ userId, contactSessionList });
  }

  /** docs/FLOWS.md §8 remove: status 1, updated now, unread cleared; result 1 when the user had no such active session. */
  async remove(req: IM.Buddy.IMRemoveSessionReq): Promise<IM.Buddy.IMRemoveSessionRsp> {
    const { userId, sessionType, sessionId } = req;
    const kind = checkSession(userId, sessionType, sessionId);
    const removed = await markSessionRemoved(this.pools.master, userId, sessionType, sessionId, Math.floor(Date.now() / 1000));
    if (removed) {
      await this.acks.clearUnread(userId, kind, sessionId);
      // The next message in it must re-activate the row, even within this second.
      this.stores.sessionWriter.forget({ type: sessionType, userId, peerId: sessionId });
      await this.stores.conversations.invalidate(userId).catch((err: unknown) => this.log.warn({ err, userId }, 'conversation index not invalidated'));
    } else {
      this.log.info({ userId, sessionType, sessionId }, 'remove session: no active session');
    }
    return IM.Buddy.IMRemoveSessionRsp.create({ userId, resultCode: removed ? 0 : 1, sessionType, sessionId });
  }

  /** The index's answer when it has one, else MySQL's (rebuilding a missing index on the way). */
  private async sessionsSince(userId: number, since: number): Promise<ConversationEntry[]> {
    const index = this.stores.conversations;
    try {
      let read = await index.recent(userId, since, MAX_SESSIONS);
      if (read.state === 'missing') {
        // A cache fill that outlives this request reads the master: replica lag must not stick in it.
        await index.rebuild(userId, (limit) => activeSessions(this.pools.master, userId, 0, limit));
        read = await index.recent(userId, since, MAX_SESSIONS);
      }
      if (read.state === 'ready') return read.entries;
    } catch (err) {
      this.log.warn({ err, userId }, 'conversation index unavailable; sessions read from MySQL');
    }
    return activeSessions(this.pools.replica, userId, since, MAX_SESSIONS);
  }
}
