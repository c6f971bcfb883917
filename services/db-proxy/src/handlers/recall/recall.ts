import type { Logger } from '@tiertalk/log';
import { encryptContent, IM } from '@tiertalk/proto';
import type { Pool } from 'mysql2/promise';
import { findMessage, markRecalled, membersWithJoinTime, readPositions, STATUS_RECALLED, STATUS_VISIBLE, type Conversation, type RecallTarget } from '../../store/recalls';
import { RequestError, refusalLogOf } from '../../unary';
import type { OfflineStores } from '../message/offline-stores';
import { checkSession, type SessionKind } from '../message/session-access';
import { RecallUnread } from './unread-adjust';

const { MsgRecallResult } = IM.Message;
const { MSG_TYPE_SINGLE_TEXT, MSG_TYPE_GROUP_TEXT } = IM.BaseDefine.MsgType;
const { SESSION_TYPE_SINGLE, SESSION_TYPE_GROUP } = IM.BaseDefine.SessionType;

/** What a recalled message reads as, to every client (encrypted like any text, docs/PROTOCOL.md §5). */
export const RECALLED_TEXT = '[消息已撤回]';

export interface RecallOptions {
  /** TT_RECALL_WINDOW_SEC: how long after sending the sender may recall. */
  windowSec: number;
  aesKey: string;
}

/** A located message of the caller's conversation, or why there is none. */
export type Located = { conversation: Conversation; target: RecallTarget } | { refused: IM.Message.MsgRecallResult };

/**
 * The message `msgId` of the caller's session (1:1 with sessionId, or group
 * sessionId they belong to). Unknown conversation, not a member, no such row,
 * or a row TeamTalk hides (status neither 0 nor recalled): NO_SUCH_MSG.
 */
export async function locate(stores: OfflineStores, userId: number, sessionType: number, sessionId: number, msgId: number): Promise<Located> {
  let kind: SessionKind;
  try {
    kind = checkSession(userId, sessionType, sessionId);
  } catch (err) {
    // A session that cannot exist (bad type, no id, oneself) holds no such message: answered, not dropped.
    if (err instanceof RequestError && userId > 0) return { refused: MsgRecallResult.RECALL_NO_SUCH_MSG };
    throw err;
  }
  if (!Number.isSafeInteger(msgId) || msgId <= 0) return { refused: MsgRecallResult.RECALL_NO_SUCH_MSG };
  let conversation: Conversation;
  if (kind === 'single') {
    const relateId = await stores.relations.find(userId, sessionId);
    if (relateId === undefined) return { refused: MsgRecallResult.RECALL_NO_SUCH_MSG };
    conversation = { kind: 'single', relateId };
  } else {
    if ((await stores.groups.joinTime(userId, sessionId)) === undefined) return { refused: MsgRecallResult.RECALL_NO_SUCH_MSG };
    conversation = { kind: 'group', groupId: sessionId };
  }
  const id = conversation.kind === 'single' ? conversation.relateId : conversation.groupId;
  const target = await findMessage(stores.shards.poolOf(id), conversation, msgId);
  if (target === undefined || (target.status !== STATUS_VISIBLE && target.status !== STATUS_RECALLED)) return { refused: MsgRecallResult.RECALL_NO_SUCH_MSG };
  return { conversation, target };
}

/**
 * DbProxy.MsgRecall (docs/PROTOCOL.md §6): only the sender, only within the
 * window, only a stored visible message. The row becomes the placeholder text
 * (status 2), and whoever had not read it has one unread fewer. Every refusal
 * is answered with its MsgRecallResult and counted (tt_refusals_total).
 */
export class Recalls {
  private readonly unread: RecallUnread;
  private readonly placeholder: string;

  constructor(
    private readonly stores: OfflineStores,
    unreadRedis: ConstructorParameters<typeof RecallUnread>[0],
    private readonly master: Pool,
    private readonly opts: RecallOptions,
    private readonly log: Logger,
  ) {
    this.unread = new RecallUnread(unreadRedis);
    this.placeholder = encryptContent(RECALLED_TEXT, opts.aesKey).toString('utf8');
  }

  async recall(req: IM.Message.IMMsgRecallReq): Promise<IM.Message.IMMsgRecallRsp> {
    const { userId, sessionType, sessionId, msgId } = req;
    const answer = (resultCode: IM.Message.MsgRecallResult, recallTime = 0): IM.Message.IMMsgRecallRsp => {
      if (resultCode !== MsgRecallResult.RECALL_OK) {
        refusalLogOf(this.log).refuse(`recall_${MsgRecallResult[resultCode].replace(/^RECALL_/, '').toLowerCase()}`, `user ${userId}`, { sessionType, sessionId, msgId });
      }
      return IM.Message.IMMsgRecallRsp.create({ userId, sessionType, sessionId, msgId, resultCode, recallTime });
    };
    const found = await locate(this.stores, userId, sessionType, sessionId, msgId);
    if ('refused' in found) return answer(found.refused);
    const { conversation, target } = found;
    if (target.fromId !== userId) return answer(MsgRecallResult.RECALL_NOT_SENDER);
    if (target.status === STATUS_RECALLED) return answer(MsgRecallResult.RECALL_ALREADY_RECALLED, target.updated);
    const now = Math.floor(Date.now() / 1000);
    if (now - target.created >= this.opts.windowSec) return answer(MsgRecallResult.RECALL_WINDOW_PASSED);
    const shard = this.stores.shards.poolOf(conversation.kind === 'single' ? conversation.relateId : conversation.groupId);
    const textType = conversation.kind === 'single' ? MSG_TYPE_SINGLE_TEXT : MSG_TYPE_GROUP_TEXT;
    if (!(await markRecalled(shard, conversation, msgId, this.placeholder, textType, now))) return answer(MsgRecallResult.RECALL_ALREADY_RECALLED);
    await this.lowerUnread(userId, sessionId, conversation, msgId, target.created).catch((err: unknown) =>
      this.log.warn({ err, userId, sessionId, msgId }, 'unread counters not lowered after a recall'),
    );
    return answer(MsgRecallResult.RECALL_OK, now);
  }

  /** Receivers whose read position is below the message lose it from their unread count. */
  private async lowerUnread(senderId: number, sessionId: number, conversation: Conversation, msgId: number, created: number): Promise<void> {
    if (conversation.kind === 'single') {
      const read = await readPositions(this.master, [sessionId], senderId, SESSION_TYPE_SINGLE);
      if ((read.get(sessionId) ?? 0) < msgId) await this.unread.single(sessionId, senderId);
      return;
    }
    const members = await membersWithJoinTime(this.master, conversation.groupId);
    // A member who joined after the message never counted it.
    const counted = [...members].filter(([uid, joined]) => uid !== senderId && joined <= created).map(([uid]) => uid);
    const read = await readPositions(this.master, counted, conversation.groupId, SESSION_TYPE_GROUP);
    await this.unread.group(conversation.groupId, counted.filter((uid) => (read.get(uid) ?? 0) < msgId));
  }
}
