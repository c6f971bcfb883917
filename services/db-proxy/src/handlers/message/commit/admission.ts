import { isUtf8 } from 'node:buffer';
import type { Logger } from '@tiertalk/log';
import type { RefusalLog } from '@tiertalk/metrics';
import { IM, isGroupMsgType, tiertalk } from '@tiertalk/proto';
import type { ErrorCodeName } from '@tiertalk/rpc';
import { parseAudioPayload } from '../../../store/audio-store';
import type { GroupMembersCache } from '../../../store/group-members';
import { IDEM_KEY_MAX_CHARS, IdempotencyStore, idemMapKey } from '../../../store/idempotency';
import type { KnownUsers } from '../../../store/known-users';
import { Accepted, answer, PendingMessage, STORAGE_ERROR, StorableContent, stored } from './types';

// Admission: which messages of a batch are stored at all. Checks of the
// message itself (type, ids, size, text), one answer per idempotency key
// within the batch, the 1:1 receiver in IMUser, the group membership and
// mutes; and, after the transaction met a stored key, which messages are
// already stored (answered with their id instead of stored again).

const { STORE_REJECTED } = tiertalk.StoreResult;

/** The catalogue codes (libs/rpc error-catalogue.ts) a message is refused with. */
type MessageRefusal = Extract<ErrorCodeName, `message_${string}`>;

/** Why checkMessage refuses a message: the human reason and its code. */
export interface CheckRefusal {
  reason: string;
  code: MessageRefusal;
}
const { MSG_TYPE_SINGLE_TEXT, MSG_TYPE_SINGLE_AUDIO, MSG_TYPE_GROUP_AUDIO } = IM.BaseDefine.MsgType;

// IMMessage_n.content is varchar(4096) (docs/PROTOCOL.md §1: MAX_MSG_LEN).
const MAX_CONTENT_CHARS = 4096;
// Audio bytes per message (TT_AUDIO_MAX_BYTES): a history page of 100 of them must fit a gRPC message.
export const DEFAULT_AUDIO_MAX_BYTES = 128 * 1024;

export interface AdmissionDeps {
  log: Logger;
  refusals: RefusalLog;
  /** 1:1 receivers must exist in IMUser (db-proxy always passes it; some store tests use ids without users). */
  receivers?: KnownUsers;
  /** Group messages (docs/FLOWS.md §10.2); without it they are refused. */
  groups?: { members: GroupMembersCache };
  /** Audio bytes a message may carry (after its 4-byte duration). */
  audioMaxBytes?: number;
  /** IMMsgIdempotency rows of the master. */
  idempotency: IdempotencyStore;
  /** A key stored longer ago than this is not a duplicate any more (TT_STORE_DEDUPE_WINDOW_SEC). */
  dedupeWindowSec: number;
}

export class Admission {
  constructor(private readonly deps: AdmissionDeps) {}

  /**
   * The messages of the batch that go on to be stored; every other one is
   * answered here (STORE_REJECTED, or STORE_FAILED when a check could not be
   * made). Items with the key of an earlier item follow it.
   */
  async admit(batch: readonly PendingMessage[], now: number): Promise<Accepted[]> {
    let singles: Accepted[] = [];
    const groupCandidates: Accepted[] = [];
    const byIdemKey = new Map<string, Accepted>();
    for (const p of batch) {
      const checked = checkMessage(p.msg, this.deps.audioMaxBytes ?? DEFAULT_AUDIO_MAX_BYTES);
      if ('code' in checked) {
        this.reject(p, checked.reason, checked.code);
        continue;
      }
      if (p.idemKey !== undefined && p.idemKey.length > IDEM_KEY_MAX_CHARS) {
        this.reject(p, `idempotency key longer than ${IDEM_KEY_MAX_CHARS} characters`, 'message_invalid');
        continue;
      }
      const key = p.idemKey === undefined ? undefined : idemMapKey({ fromId: p.msg.fromUserId, idemKey: p.idemKey });
      const first = key === undefined ? undefined : byIdemKey.get(key);
      if (first !== undefined) {
        first.followers.push(p);
        continue;
      }
      const a: Accepted = { p, content: checked, followers: [] };
      if (key !== undefined) byIdemKey.set(key, a);
      if (isGroupMsgType(p.msg.msgType)) groupCandidates.push(a);
      else singles.push(a);
    }
    const { receivers, log } = this.deps;
    if (receivers !== undefined && singles.length > 0) {
      try {
        singles = await this.admitReceivers(singles, receivers);
      } catch (err) {
        log.error({ err, messages: singles.length }, 'receiver check failed; senders get no ACK');
        for (const a of singles) answer(a, STORAGE_ERROR);
        singles = [];
      }
    }
    if (groupCandidates.length === 0) return singles;
    try {
      return [...singles, ...(await this.admitGroupMessages(groupCandidates, now))];
    } catch (err) {
      log.error({ err, messages: groupCandidates.length }, 'group membership check failed; senders get no ACK');
      for (const a of groupCandidates) answer(a, STORAGE_ERROR);
      return singles;
    }
  }

  /**
   * After the idempotency key rejected the transaction: the items whose key
   * is already stored (by an earlier commit, another instance, or a commit
   * whose reply was lost) get the stored msg id; the rest are returned to be
   * stored in another round.
   */
  async answerAlreadyStored(pending: readonly Accepted[], now: number): Promise<Accepted[]> {
    const keyed = pending.filter((a) => a.p.idemKey !== undefined).map((a) => ({ fromId: a.p.msg.fromUserId, idemKey: a.p.idemKey ?? '' }));
    const claimed = await this.deps.idempotency.claimed(keyed, now - this.deps.dedupeWindowSec);
    const rest: Accepted[] = [];
    for (const a of pending) {
      const msgId = a.p.idemKey === undefined ? undefined : claimed.get(idemMapKey({ fromId: a.p.msg.fromUserId, idemKey: a.p.idemKey }));
      if (msgId === undefined) rest.push(a);
      else {
        this.deps.log.info({ from: a.p.msg.fromUserId, idemKey: a.p.idemKey, msgId }, 'message already stored; answered with its id');
        answer(a, stored(a, msgId));
      }
    }
    return rest;
  }

  /** 1:1 messages whose receiver is an IMUser id (one query per commit for ids not seen before). */
  private async admitReceivers(singles: Accepted[], receivers: KnownUsers): Promise<Accepted[]> {
    const unknown = await receivers.unknown(new Set(singles.map((a) => a.p.msg.toSessionId)));
    if (unknown.size === 0) return singles;
    const admitted: Accepted[] = [];
    for (const a of singles) {
      if (unknown.has(a.p.msg.toSessionId)) this.refuse(a, 'unknown receiver', 'message_unknown_receiver');
      else admitted.push(a);
    }
    return admitted;
  }

  /**
   * docs/FLOWS.md §10.2 step 2: the group must exist and the sender be a member
   * (Redis group_member_<gid>, rebuilt when missing); TierTalk's mutes refuse
   * a muted member, and everyone but the owner and admins while the whole
   * group is muted. One pipeline and one or two queries per commit.
   */
  private async admitGroupMessages(candidates: Accepted[], now: number): Promise<Accepted[]> {
    const groups = this.deps.groups;
    if (groups === undefined) {
      for (const c of candidates) this.refuse(c, 'group messages are not stored by this instance', 'message_invalid');
      return [];
    }
    const groupIds = candidates.map(({ p }) => p.msg.toSessionId);
    const [membersByGroup, rolesByGroup] = await Promise.all([groups.members.membersOf(groupIds), groups.members.rolesOf(groupIds)]);
    const wholeGroupMuted = [...rolesByGroup].filter(([, r]) => r.groupMutedUntil > now).map(([gid]) => gid);
    const creators = await groups.members.creatorsOf(wholeGroupMuted);
    const admitted: Accepted[] = [];
    for (const c of candidates) {
      const { fromUserId: from, toSessionId: groupId } = c.p.msg;
      const members = membersByGroup.get(groupId);
      const roles = rolesByGroup.get(groupId);
      if (members === undefined) this.refuse(c, 'unknown group', 'message_unknown_group');
      else if (!members.has(from)) this.refuse(c, 'not a member of the group', 'message_not_member');
      else if ((roles?.mutedUntil.get(from) ?? 0) > now) this.refuse(c, 'muted', 'message_muted');
      else if (roles !== undefined && roles.groupMutedUntil > now && creators.get(groupId) !== from && !roles.admins.has(from)) this.refuse(c, 'muted', 'message_muted');
      else admitted.push({ ...c, members });
    }
    return admitted;
  }

  private refuse(a: Accepted, reason: string, code: MessageRefusal): void {
    this.reject(a.p, reason, code);
    for (const f of a.followers) this.reject(f, reason, code);
  }

  /** STORE_REJECTED (final) with its catalogue code; counted under the code, logged once per sender per interval. */
  private reject(p: PendingMessage, reason: string, code: MessageRefusal): void {
    this.deps.refusals.refuse(code, `user ${p.msg.fromUserId}`, { to: p.msg.toSessionId, type: p.msg.msgType, detail: reason });
    p.done({ result: STORE_REJECTED, msgId: 0, reason, code });
  }
}

/** Why a 1:1 or group message cannot be stored, or what it stores (membership is checked later, per commit). */
export function checkMessage(m: IM.Message.IMMsgData.$Properties, audioMaxBytes = DEFAULT_AUDIO_MAX_BYTES): StorableContent | CheckRefusal {
  const group = isGroupMsgType(m.msgType);
  if (!group && m.msgType !== MSG_TYPE_SINGLE_TEXT && m.msgType !== MSG_TYPE_SINGLE_AUDIO) return invalid(`unknown message type ${m.msgType}`);
  if (m.fromUserId === 0 || m.toSessionId === 0) return invalid(group ? 'sender or group id is 0' : 'sender or receiver id is 0');
  if (!group && m.fromUserId === m.toSessionId) return invalid('message to self');
  if (m.msgData.length === 0) return invalid('empty message');
  if (m.msgType === MSG_TYPE_SINGLE_AUDIO || m.msgType === MSG_TYPE_GROUP_AUDIO) {
    // docs/FLOWS.md §4 step 3.4: 4-byte duration then the audio bytes; 4 bytes or less is refused.
    const audio = parseAudioPayload(m.msgData);
    if (typeof audio !== 'string' && audio.data.length > audioMaxBytes) return { reason: `audio larger than ${audioMaxBytes} bytes`, code: 'message_audio_too_large' };
    return typeof audio === 'string' ? invalid(audio) : { audio };
  }
  // The column is utf8mb4 text: bytes that are not UTF-8 could not be stored byte-for-byte.
  if (!isUtf8(m.msgData)) return invalid('message content is not UTF-8 text');
  const text = Buffer.from(m.msgData.buffer, m.msgData.byteOffset, m.msgData.byteLength).toString('utf8');
  // UTF-16 length bounds the code-point count from above, so only long texts need counting.
  if (text.length > MAX_CONTENT_CHARS && [...text].length > MAX_CONTENT_CHARS) return invalid(`message longer than ${MAX_CONTENT_CHARS} characters`);
  return { text };
}

function invalid(reason: string): CheckRefusal {
  return { reason, code: 'message_invalid' };
}
