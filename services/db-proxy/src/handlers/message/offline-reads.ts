import type { RedisClient } from '@tiertalk/redis';
import type { Logger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import { redisKeys } from '../../store/keys';
import type { MessageRecord } from '../../store/message-reader';
import { RequestError } from '../../unary';
import { isValidMsgType, previewData, toMsgInfos } from './msg-info';
import type { OfflineStores } from './offline-stores';
import { checkSession, checkUser } from './session-access';

const { SESSION_TYPE_SINGLE, SESSION_TYPE_GROUP } = IM.BaseDefine.SessionType;

// docs/FLOWS.md §7.3 weakness: TeamTalk lets msg_cnt be anything; its clients ask
// for 20-40. A page is capped here, and by-id answers at most 100 (TeamTalk's limit).
export const MAX_PAGE = 100;
export const MAX_BY_ID = 100;
// More ids than this in one by-id request is not a client, it is a probe.
const MAX_BY_ID_REQUEST = 1000;

/** Offline messages: unread counters, history, by id, latest id (docs/FLOWS.md §7). Reads only; nothing here creates a row. */
export class OfflineReads {
  constructor(
    private readonly stores: OfflineStores,
    private readonly unreadRedis: RedisClient,
    private readonly log: Logger,
  ) {}

  /** §7.1: one entry per peer with unread 1:1 messages, then per group; total_cnt is their sum. */
  async unreadCount(req: IM.Message.IMUnreadMsgCntReq): Promise<IM.Message.IMUnreadMsgCntRsp> {
    const userId = req.userId;
    checkUser(userId);
    // After Redis lost the counters they are rebuilt from MySQL first (once per user and epoch).
    await this.stores.unreadRebuild
      .ensure(userId)
      .catch((err: unknown) => this.log.warn({ err, userId }, 'unread counters not rebuilt; answering from Redis as it is'));
    const counters = await this.unreadRedis.hgetall(redisKeys.unread(userId));
    const unread = new Map<number, number>();
    for (const [field, value] of Object.entries(counters)) {
      const peer = Number(field);
      const count = Number(value);
      if (!Number.isSafeInteger(peer) || peer <= 0 || peer === userId || !(count > 0)) continue;
      unread.set(peer, Math.min(count, 0xffff_ffff));
    }
    const relations = await this.stores.relations.findMany(userId, [...unread.keys()]);
    const latest = await this.stores.messages.latest([...relations.values()]);

    const list: IM.BaseDefine.UnreadInfo.$Properties[] = [];
    for (const [peer, count] of unread) {
      const relateId = relations.get(peer);
      const last = relateId === undefined ? undefined : latest.get(relateId);
      // TeamTalk skips a counter whose conversation has no valid last message.
      if (last === undefined || !isValidMsgType(last.type)) continue;
      list.push({
        sessionId: peer,
        sessionType: SESSION_TYPE_SINGLE,
        unreadCnt: count,
        latestMsgId: last.msgId,
        latestMsgData: previewData(last, this.stores.audioPreview),
        latestMsgType: last.type,
        // TeamTalk reports the peer here even when the user sent the last message.
        latestMsgFromUserId: peer,
      });
    }
    list.push(...(await this.groupUnread(userId)));
    const totalCnt = list.reduce((sum, e) => sum + e.unreadCnt, 0);
    return IM.Message.IMUnreadMsgCntRsp.create({ userId, totalCnt: Math.min(totalCnt, 0xffff_ffff), unreadinfoList: list });
  }

  /** §7.2: newest first, `msg_id <= msg_id_begin` unless it is 0; the request's fields are echoed. */
  async msgList(req: IM.Message.IMGetMsgListReq): Promise<IM.Message.IMGetMsgListRsp> {
    const { userId, sessionType, sessionId, msgIdBegin } = req;
    const kind = checkSession(userId, sessionType, sessionId);
    const count = Math.min(req.msgCnt, MAX_PAGE);
    let records: MessageRecord[] = [];
    if (kind === 'single') {
      const relateId = await this.stores.relations.find(userId, sessionId);
      if (relateId !== undefined) records = await this.stores.messages.page(relateId, msgIdBegin, count);
    } else {
      const joined = await this.memberSince(userId, sessionId, 'MsgList');
      if (joined !== undefined) records = await this.stores.groups.page(sessionId, joined, msgIdBegin, count);
    }
    const msgList = await toMsgInfos(records, this.stores.audio, this.log);
    return IM.Message.IMGetMsgListRsp.create({ userId, sessionType, sessionId, msgIdBegin, msgList });
  }

  /** §7.3: the requested ids that exist, newest first, at most 100. */
  async msgById(req: IM.Message.IMGetMsgByIdReq): Promise<IM.Message.IMGetMsgByIdRsp> {
    const { userId, sessionType, sessionId } = req;
    const kind = checkSession(userId, sessionType, sessionId);
    if (req.msgIdList.length > MAX_BY_ID_REQUEST) {
      throw new RequestError('request_invalid', `user ${userId}: ${req.msgIdList.length} msg ids in one request (at most ${MAX_BY_ID_REQUEST})`, 'request_list_too_long');
    }
    const ids = [...new Set(req.msgIdList.filter((id) => id > 0))];
    let records: MessageRecord[] = [];
    if (ids.length > 0 && kind === 'single') {
      const relateId = await this.stores.relations.find(userId, sessionId);
      if (relateId !== undefined) records = await this.stores.messages.byIds(relateId, ids, MAX_BY_ID);
    } else if (ids.length > 0) {
      // TeamTalk does not check membership here (docs/FLOWS.md §7.3 weakness); TierTalk does.
      const joined = await this.memberSince(userId, sessionId, 'MsgById');
      if (joined !== undefined) records = await this.stores.groups.byIds(sessionId, joined, ids, MAX_BY_ID);
    }
    const msgList = await toMsgInfos(records, this.stores.audio, this.log);
    return IM.Message.IMGetMsgByIdRsp.create({ userId, sessionType, sessionId, msgList });
  }

  /** §7.3: the msg id of the newest message of the session, 0 when none. */
  async latestMsgId(req: IM.Message.IMGetLatestMsgIdReq): Promise<IM.Message.IMGetLatestMsgIdRsp> {
    const { userId, sessionType, sessionId } = req;
    const kind = checkSession(userId, sessionType, sessionId);
    let latestMsgId = 0;
    if (kind === 'single') {
      const relateId = await this.stores.relations.find(userId, sessionId);
      if (relateId !== undefined) latestMsgId = (await this.stores.messages.latest([relateId])).get(relateId)?.msgId ?? 0;
    } else if ((await this.memberSince(userId, sessionId, 'LatestMsgId')) !== undefined) {
      latestMsgId = (await this.stores.groups.latest([sessionId])).get(sessionId)?.msgId ?? 0;
    }
    return IM.Message.IMGetLatestMsgIdRsp.create({ userId, sessionType, sessionId, latestMsgId });
  }

  /** Group part of §7.1: total − the user's snapshot for each group the user belongs to. */
  private async groupUnread(userId: number): Promise<IM.BaseDefine.UnreadInfo.$Properties[]> {
    const groupIds = await this.stores.groups.groupsOf(userId);
    if (groupIds.length === 0) return [];
    const counts = await this.stores.groups.unreadCounts(userId, groupIds);
    const latest = await this.stores.groups.latest([...counts.keys()]);
    const list: IM.BaseDefine.UnreadInfo.$Properties[] = [];
    for (const [groupId, count] of counts) {
      const last = latest.get(groupId);
      if (last === undefined || !isValidMsgType(last.type)) continue;
      list.push({
        sessionId: groupId,
        sessionType: SESSION_TYPE_GROUP,
        unreadCnt: count,
        latestMsgId: last.msgId,
        latestMsgData: previewData(last, this.stores.audioPreview),
        latestMsgType: last.type,
        latestMsgFromUserId: last.fromId,
      });
    }
    return list;
  }

  /** A member's join time; a non-member gets an empty answer, logged (docs/FLOWS.md §14 O7). */
  private async memberSince(userId: number, groupId: number, method: string): Promise<number | undefined> {
    const joined = await this.stores.groups.joinTime(userId, groupId);
    if (joined === undefined) this.log.warn({ method, userId, groupId }, 'not a member of the group: empty answer');
    return joined;
  }
}
