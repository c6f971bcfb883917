import type { Logger } from '@tiertalk/log';
import type { RefusalLog } from '@tiertalk/metrics';
import { IM } from '@tiertalk/proto';
import { addGroupMessageInserts } from '../../../store/group-messages';
import { IDEMPOTENCY_UNIQUE_KEY, idemMapKey } from '../../../store/idempotency';
import { groupMessageTable, messageTable } from '../../../store/keys';
import { CounterSpec, MESSAGE_ID_UNIQUE_KEYS, MessageIdAllocator } from '../../../store/message-ids';
import { addMessageInserts } from '../../../store/messages';
import { isPoolQueueFull } from '../../../store/mysql';
import { duplicateKeyName } from '../../../store/mysql-errors';
import type { MessageShardServers, ShardServer } from '../../../store/shard-servers';
import { SqlBatch } from '../../../store/sql-batch';
import { Abandonable, runTransaction } from '../../../store/transaction-runner';
import { groupRowOf, messageRowOf, Planned, probeOf } from './types';

// The remote-shard phase (TT_MYSQL_SHARDS, docs/STORAGE.md §1.5.1): the rows
// of messages whose shard lives on another MySQL server are committed there
// before the master's transaction, each server in one transaction (all at
// once). With them go the messages' idempotency keys, in that server's
// IMMsgIdempotency: a retry after the master's part failed finds its key
// there and takes the stored msg id instead of storing a second row ("roll
// forward").

const { SESSION_TYPE_SINGLE, SESSION_TYPE_GROUP } = IM.BaseDefine.SessionType;

export const DEFAULT_SHARD_TIMEOUT_MS = 5000;
// Each round has fewer messages (those found already stored are done).
const MAX_SHARD_ROUNDS = 4;

export interface RemoteShardDeps {
  shards: MessageShardServers;
  ids: MessageIdAllocator;
  log: Logger;
  refusals: RefusalLog;
  dedupeWindowSec: number;
  /** How long a shard server's part may take before its messages are answered STORE_FAILED (TT_MYSQL_SHARD_TIMEOUT_MS). */
  timeoutMs?: number;
}

export class RemoteShardCommit {
  constructor(private readonly deps: RemoteShardDeps) {}

  /**
   * Returns the messages now stored on their server; the others (server
   * down, unknown outcome) are answered STORE_FAILED by the caller.
   *
   * A server that does not answer (hung, unreachable without a refusal) is
   * given up on after the shard timeout, so it does not hold back the rest of
   * the batch and every later one. Its transaction may still commit: the
   * retry then finds the keys and completes the messages, as above.
   */
  async store(plans: readonly Planned[], specs: readonly CounterSpec[], now: number): Promise<Set<Planned>> {
    const done = new Set<Planned>();
    const timeoutMs = this.deps.timeoutMs ?? DEFAULT_SHARD_TIMEOUT_MS;
    await Promise.all(
      [...this.deps.shards.group(plans, (p) => p.conversationId)].map(async ([server, list]) => {
        const attempt: Abandonable = { abandoned: false };
        const storing = this.storeOnServer(server, list, specs, now, attempt);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, timeoutMs, undefined)));
        const stored = await Promise.race([storing, timedOut]);
        clearTimeout(timer);
        if (stored === undefined) {
          attempt.abandoned = true;
          // A statement waiting on the hung server dies with its connection: unless it was the COMMIT, nothing of it stays.
          attempt.conn?.destroy();
          this.deps.log.error({ server: server.name, messages: list.length, timeoutMs }, 'shard server did not answer in time; its messages get no ACK');
          return;
        }
        for (const p of stored) done.add(p);
      }),
    );
    return done;
  }

  private async storeOnServer(server: ShardServer, plans: Planned[], specs: readonly CounterSpec[], now: number, attempt: Abandonable): Promise<Planned[]> {
    const { log, ids } = this.deps;
    const stored: Planned[] = [];
    let pending = plans;
    for (let round = 1; pending.length > 0 && !attempt.abandoned; round += 1) {
      try {
        await this.commitRows(server, pending, now, attempt);
        stored.push(...pending);
        break;
      } catch (err) {
        const duplicate = duplicateKeyName(err);
        if (duplicate === IDEMPOTENCY_UNIQUE_KEY && round < MAX_SHARD_ROUNDS) {
          try {
            const claimed = await server.idempotency.claimed(
              pending.filter((p) => p.a.p.idemKey !== undefined).map((p) => ({ fromId: p.a.p.msg.fromUserId, idemKey: p.a.p.idemKey ?? '' })),
              now - this.deps.dedupeWindowSec,
            );
            const rest: Planned[] = [];
            const rolled: Planned[] = [];
            for (const p of pending) {
              const msgId = p.a.p.idemKey === undefined ? undefined : claimed.get(idemMapKey({ fromId: p.a.p.msg.fromUserId, idemKey: p.a.p.idemKey }));
              if (msgId === undefined) rest.push(p);
              else {
                // The master's part of this commit is written with the stored id.
                p.msgId = msgId;
                rolled.push(p);
              }
            }
            await this.pointRowsAtNewAudio(server, rolled);
            log.info({ server: server.name, messages: rolled.length }, 'messages already on their shard server (an earlier commit stopped before the master); completing them');
            stored.push(...rolled);
            pending = rest;
            continue;
          } catch (checkErr) {
            log.error({ err: checkErr, server: server.name, messages: pending.length }, 'stored message ids not read from the shard server; senders get no ACK');
            break;
          }
        }
        if (MESSAGE_ID_UNIQUE_KEYS.has(duplicate ?? '')) {
          const mine = specs.filter((s) => s.pool === server.pool);
          await ids.raiseToStored(mine).catch((raiseErr: unknown) => log.warn({ err: raiseErr }, 'raising message id counters failed'));
        }
        if (isPoolQueueFull(err)) this.deps.refusals.refuse('mysql_pool_queue_full', `message commit on shard server ${server.name}`, { messages: pending.length });
        else log.error({ err, server: server.name, messages: pending.length }, 'storing messages on their shard server failed; senders get no ACK');
        break;
      }
    }
    return stored;
  }

  /** One transaction on the shard server: the idempotency keys first (a retried key fails it before any row), then the rows. */
  private async commitRows(server: ShardServer, plans: readonly Planned[], now: number, attempt: Abandonable): Promise<void> {
    const batch = new SqlBatch();
    server.idempotency.addRows(
      batch,
      plans
        .filter((p) => p.a.p.idemKey !== undefined)
        .map((p) => ({
          fromId: p.a.p.msg.fromUserId,
          idemKey: p.a.p.idemKey ?? '',
          sessionType: p.group ? SESSION_TYPE_GROUP : SESSION_TYPE_SINGLE,
          toId: p.a.p.msg.toSessionId,
          msgId: p.msgId,
          created: now,
        })),
    );
    const rows = plans.filter((p) => !p.group).map(messageRowOf);
    const groupRows = plans.filter((p) => p.group).map(groupRowOf);
    addMessageInserts(batch, rows);
    addGroupMessageInserts(batch, groupRows);
    await runTransaction(server.writer, batch, { checkPool: server.pool, probe: probeOf(rows, groupRows), log: this.deps.log, context: { server: server.name }, abandonable: attempt });
  }

  /**
   * A message found already on its shard server carries the IMAudio id of the
   * attempt that stored it; that attempt's audio bytes never reached the
   * master, so its row takes this attempt's id (rare: audio, a failure, a retry).
   */
  private async pointRowsAtNewAudio(server: ShardServer, rolled: readonly Planned[]): Promise<void> {
    for (const p of rolled) {
      if (p.clip === undefined) continue;
      const sql = p.group
        ? `UPDATE ${groupMessageTable(p.conversationId)} SET content = ? WHERE groupId = ? AND msgId = ?`
        : `UPDATE ${messageTable(p.conversationId)} SET content = ? WHERE relateId = ? AND msgId = ?`;
      await server.pool.execute(sql, [p.content, p.conversationId, p.msgId]);
    }
  }
}
