import type { Logger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import { AudioClip, AudioStore } from '../../../store/audio-store';
import type { ConversationTouch } from '../../../store/conversation-index';
import type { GroupCountDelta, UnreadDelta } from '../../../store/counter-outbox';
import type { Members } from '../../../store/group-members';
import type { GroupMessageRow } from '../../../store/group-messages';
import type { IdempotencyRow } from '../../../store/idempotency';
import { groupMessageTable, messageTable, redisKeys } from '../../../store/keys';
import type { CounterSpec, MessageIdAllocator } from '../../../store/message-ids';
import type { MessageRow } from '../../../store/messages';
import type { ReadCursor } from '../../../store/read-cursors';
import type { SessionTouch } from '../../../store/recent-sessions';
import { pairKey, RelationStore } from '../../../store/relations';
import type { MessageShardServers } from '../../../store/shard-servers';
import type { CommitTimings } from '../commit-metrics';
import { Accepted, groupRowOf, messageRowOf, Planned } from './types';

// The commit plan: what a batch of admitted messages becomes before anything
// is written to a message table — the relation of each 1:1 pair, the IMAudio
// rows reserved for audio, a msg id per message from its conversation's
// counter (in arrival order), and which shard server holds each message.
// Then the rows the master transaction writes (masterRows).

const { SESSION_TYPE_SINGLE, SESSION_TYPE_GROUP } = IM.BaseDefine.SessionType;

export interface CommitPlan {
  plans: Planned[];
  /** The counters the ids came from (raised to the stored maximum after a duplicate id). */
  specs: CounterSpec[];
  /** Counter key → the ids taken (logged when an outcome is unknown). */
  taken: Map<string, number[]>;
  clips: AudioClip[];
  /** IMAudio ids reserved for the clips, in clip order. */
  audioIds: number[];
}

export interface PlannerDeps {
  relations: RelationStore;
  ids: MessageIdAllocator;
  audio: AudioStore;
  shards?: MessageShardServers;
  log: Logger;
}

export class CommitPlanner {
  constructor(private readonly deps: PlannerDeps) {}

  /** True when the message's shard lives on another server than the master (TT_MYSQL_SHARDS). */
  readonly isRemote = (p: Planned): boolean => this.deps.shards !== undefined && this.deps.shards.serverOf(p.conversationId).remote;

  async plan(accepted: readonly Accepted[], now: number, timings: CommitTimings): Promise<CommitPlan> {
    const { relations, ids, audio, shards } = this.deps;
    const singles = accepted.filter((a) => a.members === undefined);
    const relateIds =
      singles.length === 0
        ? new Map<string, number>()
        : await timings.time('relations', () =>
            relations.resolveForSend(
              singles.map(({ p }) => [p.msg.fromUserId, p.msg.toSessionId] as const),
              now,
            ),
          );
    const relateOf = (m: IM.Message.IMMsgData.$Properties): number => {
      const id = relateIds.get(pairKey(m.fromUserId, m.toSessionId));
      if (id === undefined) throw new Error(`no relation for ${m.fromUserId}/${m.toSessionId}`);
      return id;
    };
    const createdOf = (m: IM.Message.IMMsgData.$Properties): number => (m.createTime > 0 ? m.createTime : now);

    // Audio rows first: their ids are the messages' content.
    const clips: AudioClip[] = [];
    for (const { p, content } of accepted) {
      if ('audio' in content) clips.push({ fromId: p.msg.fromUserId, toId: p.msg.toSessionId, ...content.audio, created: createdOf(p.msg) });
    }
    const audioIds = await timings.time('audio_reserve', () => audio.reserve(clips));

    // One counter per relation; ids within a relation follow arrival order.
    // One counter per group likewise (group_msg_id_<gid>, docs/FLOWS.md §10.2 step 2).
    const perRelation = new Map<number, number>();
    const perGroup = new Map<number, number>();
    for (const { p, members } of accepted) {
      if (members !== undefined) perGroup.set(p.msg.toSessionId, (perGroup.get(p.msg.toSessionId) ?? 0) + 1);
      else {
        const r = relateOf(p.msg);
        perRelation.set(r, (perRelation.get(r) ?? 0) + 1);
      }
    }
    const specs: CounterSpec[] = [
      ...[...perRelation].map(([relateId, count]) => ({
        key: redisKeys.msgIdCounter(relateId),
        count,
        maxSql: `SELECT MAX(msgId) AS maxId FROM ${messageTable(relateId)} WHERE relateId = ?`,
        maxParams: [relateId],
        pool: shards?.poolOf(relateId),
      })),
      ...[...perGroup].map(([groupId, count]) => ({
        key: redisKeys.groupMsgIdCounter(groupId),
        count,
        maxSql: `SELECT MAX(msgId) AS maxId FROM ${groupMessageTable(groupId)} WHERE groupId = ?`,
        maxParams: [groupId],
        pool: shards?.poolOf(groupId),
      })),
    ];
    let taken: Map<string, number[]>;
    try {
      taken = await timings.time('id_allocation', () => ids.allocate(specs));
    } catch (err) {
      await this.discardAudio(audioIds);
      throw err;
    }

    const idQueues = new Map<string, number[]>();
    for (const [key, list] of taken) idQueues.set(key, [...list]);
    const plans: Planned[] = [];
    let clipIndex = 0;
    for (const a of accepted) {
      const m = a.p.msg;
      const group = a.members !== undefined;
      const conversationId = group ? m.toSessionId : relateOf(m);
      const counter = group ? redisKeys.groupMsgIdCounter(conversationId) : redisKeys.msgIdCounter(conversationId);
      const clip = 'text' in a.content ? undefined : clipIndex++;
      const content = 'text' in a.content ? a.content.text : String(audioIds[clip ?? 0]);
      plans.push({ a, group, conversationId, msgId: idQueues.get(counter)?.shift() ?? 0, content, clip, created: createdOf(m) });
    }
    return { plans, specs, taken, clips, audioIds };
  }

  /** IMAudio rows reserved for messages that were not stored (best effort: they are unreferenced either way). */
  async discardAudio(audioIds: readonly number[]): Promise<void> {
    await this.deps.audio.discard(audioIds).catch((err: unknown) => this.deps.log.warn({ err, audioIds }, 'discarding unused IMAudio rows failed'));
  }
}

/** The rows of the master transaction, and what is applied after it commits. */
export interface MasterRows {
  rows: MessageRow[];
  groupRows: GroupMessageRow[];
  idemRows: IdempotencyRow[];
  /** Group id → members, of the groups the commit wrote to. */
  groupMembers: Map<number, Members>;
  groupDeltas: GroupCountDelta[];
  unread: UnreadDelta[];
  /** IMRecentSession rows of senders and 1:1 receivers (members' group rows are added by the transaction, rate-limited). */
  touches: SessionTouch[];
  conversationTouches: ConversationTouch[];
  /** The sender has read what they sent: their durable read cursor moves with it. */
  ownReads: ReadCursor[];
  /** A 1:1 receiver gets a cursor below the first message received (read-cursors.ts). */
  receivedReads: ReadCursor[];
}

/**
 * The master's rows for the messages of a commit that go on (`survivors`):
 * message rows only of shards on the master (`isRemote` false); idempotency
 * keys, sessions, cursors and counters of all of them.
 */
export function masterRows(survivors: readonly Planned[], isRemote: (p: Planned) => boolean, now: number): MasterRows {
  const out: MasterRows = { rows: [], groupRows: [], idemRows: [], groupMembers: new Map(), groupDeltas: [], unread: [], touches: [], conversationTouches: [], ownReads: [], receivedReads: [] };
  const groupDeltas = new Map<number, GroupCountDelta>();
  const unread = new Map<string, UnreadDelta>();
  for (const plan of survivors) {
    const { p, members } = plan.a;
    const { msgId } = plan;
    const m = p.msg;
    const local = !isRemote(plan);
    if (members !== undefined) {
      const groupId = m.toSessionId;
      if (p.idemKey !== undefined) out.idemRows.push({ fromId: m.fromUserId, idemKey: p.idemKey, sessionType: SESSION_TYPE_GROUP, toId: groupId, msgId, created: now });
      if (local) out.groupRows.push(groupRowOf(plan));
      out.groupMembers.set(groupId, members);
      out.touches.push({ userId: m.fromUserId, peerId: groupId, type: SESSION_TYPE_GROUP, updated: now });
      out.conversationTouches.push({ userId: m.fromUserId, peerId: groupId, type: SESSION_TYPE_GROUP, updated: now, readMsgId: msgId });
      out.ownReads.push({ userId: m.fromUserId, peerId: groupId, sessionType: SESSION_TYPE_GROUP, msgId });
      let delta = groupDeltas.get(groupId);
      if (delta === undefined) groupDeltas.set(groupId, (delta = { groupId, count: 0, senders: new Map() }));
      delta.count += 1;
      // Messages after each sender's latest: counted up as later ones arrive.
      for (const [sender, after] of delta.senders) delta.senders.set(sender, after + 1);
      delta.senders.set(m.fromUserId, 0);
      continue;
    }
    if (p.idemKey !== undefined) out.idemRows.push({ fromId: m.fromUserId, idemKey: p.idemKey, sessionType: SESSION_TYPE_SINGLE, toId: m.toSessionId, msgId, created: now });
    if (local) out.rows.push(messageRowOf(plan));
    out.touches.push(
      { userId: m.fromUserId, peerId: m.toSessionId, type: SESSION_TYPE_SINGLE, updated: now },
      { userId: m.toSessionId, peerId: m.fromUserId, type: SESSION_TYPE_SINGLE, updated: now },
    );
    // The sender has read what they sent: their read cursor moves with it.
    out.conversationTouches.push(
      { userId: m.fromUserId, peerId: m.toSessionId, type: SESSION_TYPE_SINGLE, updated: now, readMsgId: msgId },
      { userId: m.toSessionId, peerId: m.fromUserId, type: SESSION_TYPE_SINGLE, updated: now },
    );
    out.ownReads.push({ userId: m.fromUserId, peerId: m.toSessionId, sessionType: SESSION_TYPE_SINGLE, msgId });
    out.receivedReads.push({ userId: m.toSessionId, peerId: m.fromUserId, sessionType: SESSION_TYPE_SINGLE, msgId });
    const key = `${m.toSessionId}:${m.fromUserId}`;
    const u = unread.get(key);
    if (u) u.n += 1;
    else unread.set(key, { toId: m.toSessionId, fromId: m.fromUserId, n: 1 });
  }
  out.groupDeltas = [...groupDeltas.values()];
  out.unread = [...unread.values()];
  return out;
}
