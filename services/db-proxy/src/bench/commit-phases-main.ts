// Where a message commit's time goes: drives db-proxy's MessageCommitter
// directly, with db-proxy's own pools against a real MariaDB and Redis, and
// prints the share of each phase and statement of the commit, read from the
// histograms db-proxy exports on /metrics (commit-metrics.ts).
//
//   node services/db-proxy/dist/bench/commit-phases-main.js --messages 1000 --batches 10
//
// The database named by --db is dropped and created anew; the Redis db is flushed.
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { createPool, type RowDataPacket } from 'mysql2/promise';
import { createLogger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import { metricsRegistry } from '@tiertalk/metrics';
import { MessageCommitter, PendingMessage, StoreOutcome } from '../handlers/message/message-committer';
import { createOfflineStores } from '../handlers/message/offline-stores';
import { CounterOutbox } from '../store/counter-outbox';
import { IdempotencyStore } from '../store/idempotency';
import { KnownUsers } from '../store/known-users';
import { MessageIdAllocator } from '../store/message-ids';
import { createMysqlPools } from '../store/mysql';
import { ensureDatabase, MIGRATIONS_DIR, runMigrations } from '../store/migrate';
import { oneRedisForAll } from '../store/redis';
import { RelationStore } from '../store/relations';

const { values: args } = parseArgs({
  options: {
    mysql: { type: 'string', default: 'mysql://root@127.0.0.1:3306' },
    db: { type: 'string', default: 'teamtalk_bench_commit' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379/9' },
    messages: { type: 'string', default: '1000' },
    batches: { type: 'string', default: '10' },
    'pool-size': { type: 'string', default: '8' },
    lanes: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(
    'commit-phases: one batch of --messages 1:1 messages over as many distinct pairs, committed --batches times\n' +
      '  --mysql URL (root of the server)  --db NAME (dropped and recreated)  --redis URL (flushed)\n' +
      '  --pool-size N (TT_MYSQL_POOL_SIZE)  --lanes N (TT_STORE_COMMIT_LANES)\n',
  );
  process.exit(0);
}

const messages = Number(args.messages);
const batches = Number(args.batches);

async function main(): Promise<void> {
  const admin = createPool({ uri: args.mysql, connectionLimit: 1 });
  await admin.query(`DROP DATABASE IF EXISTS \`${args.db}\``);
  await admin.end();
  await ensureDatabase(args.mysql, args.db);
  const url = `${args.mysql}/${args.db}`;
  const size = Number(args['pool-size']);
  const mysql = createMysqlPools(url, url, { size, queueLimit: 100_000 }, [], Number(args.lanes ?? 1));
  await runMigrations(mysql.master, MIGRATIONS_DIR, { info: () => undefined });
  // Two users per message: sender first+2i → receiver first+2i+1 (distinct 1:1 pairs, as the many-conns
  // scenario), after the rows the migrations made (0011 adds the send API's `system` user).
  const [[{ maxId }]] = await mysql.master.query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS maxId FROM IMUser');
  const first = Number(maxId) + 1;
  const now = Math.floor(Date.now() / 1000);
  const users = Array.from({ length: 2 * messages }, (_, i) => first + i);
  for (let at = 0; at < users.length; at += 500) {
    const chunk = users.slice(at, at + 500);
    await mysql.master.query(
      `INSERT INTO IMUser (id, sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, created, updated, push_shield_status, sign_info) VALUES ${chunk
        .map(() => "(?, 1, ?, ?, ?, '', '', '', '', '', 1, 0, ?, ?, 0, '')")
        .join(', ')}`,
      chunk.flatMap((id) => [id, `bench${id}`, `bench${id}`, `bench${id}`, now, now]),
    );
  }

  const client = new Redis(args.redis);
  await client.flushdb();
  const redis = oneRedisForAll(client);
  const log = createLogger({ service: 'commit-phases', instanceId: 'bench', level: 'error' });
  const offline = createOfflineStores(mysql, redis, { convIndexLimit: 100, convIndexTtlSec: 604800, aesKey: '12345678901234567890123456789012' });
  const counterOutbox = new CounterOutbox(mysql.master, client, { repairIntervalMs: 60_000, repairGraceSec: 2, onError: () => undefined });
  const committer = new MessageCommitter({
    writer: mysql.writer,
    master: mysql.master,
    shards: mysql.shards,
    counterOutbox,
    idempotency: new IdempotencyStore(mysql.master),
    dedupeWindowSec: 300,
    relations: new RelationStore(mysql.master),
    ids: new MessageIdAllocator(client, mysql.master),
    sessions: offline.sessionWriter,
    audio: offline.audio,
    conversations: offline.conversations,
    log,
    batchMax: messages,
    receivers: new KnownUsers(mysql.master),
    ...(args.lanes === undefined ? {} : { lanes: Number(args.lanes) }),
  });

  const batch = (): Array<Promise<StoreOutcome>> =>
    Array.from({ length: messages }, (_, i) =>
      new Promise<StoreOutcome>((resolve) => {
        const p: PendingMessage = {
          idemKey: randomUUID(),
          msg: { fromUserId: first + 2 * i, toSessionId: first + 2 * i + 1, msgId: 0, createTime: Math.floor(Date.now() / 1000), msgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from(`bench message ${i} ${'x'.repeat(40)}`) },
          done: resolve,
        };
        committer.submit(p);
      }),
    );

  // Warm-up: creates the relations, session and cursor rows (steady state afterwards, as in a running cluster).
  await Promise.all(batch());
  metricsRegistry.resetMetrics();
  const wallMs: number[] = [];
  let cpuMs = 0;
  for (let b = 0; b < batches; b++) {
    // Into the next second: each batch bumps its session rows again, as a conversation that keeps talking does.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const started = performance.now();
    const cpu = process.cpuUsage();
    const outcomes = await Promise.all(batch());
    wallMs.push(performance.now() - started);
    const used = process.cpuUsage(cpu);
    cpuMs += (used.user + used.system) / 1000;
    const failed = outcomes.filter((o) => o.result !== 0).length;
    if (failed > 0) throw new Error(`${failed} messages not stored`);
  }

  const sums = async (name: string, label: string): Promise<Map<string, number>> => {
    const metric = await metricsRegistry.getSingleMetric(name)?.get();
    const out = new Map<string, number>();
    // Histograms: their _sum; counters: the value.
    for (const v of metric?.values ?? []) {
      const metricName = (v as { metricName?: string }).metricName;
      if (metricName === `${name}_sum` || (metricName === undefined && v.labels[label] !== undefined)) out.set(String(v.labels[label]), v.value);
    }
    return out;
  };
  const commit = await sums('tt_store_commit_duration_seconds', 'outcome');
  const phases = await sums('tt_store_commit_phase_seconds', 'phase');
  const statements = await sums('tt_store_commit_statement_seconds', 'statement');
  const total = commit.get('ok') ?? 0;
  const retries = await sums('tt_store_transaction_retries_total', 'reason');
  const rows = (m: Map<string, number>, of: number): string[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([k, s]) => `| ${k} | ${((s / batches) * 1000).toFixed(1)} | ${((100 * s) / of).toFixed(0)} % |`);
  const transaction = phases.get('transaction') ?? 0;
  wallMs.sort((a, b) => a - b);
  process.stdout.write(
    [
      `${batches} batches of ${messages} messages over ${messages} 1:1 pairs, pool size ${size}${args.lanes === undefined ? '' : `, lanes ${args.lanes}`}`,
      `batch wall time ms: median ${wallMs[Math.floor(batches / 2)].toFixed(1)}, min ${wallMs[0].toFixed(1)}, max ${wallMs[batches - 1].toFixed(1)}; commit time ms (mean): ${((total / batches) * 1000).toFixed(1)}; this process's CPU per batch (building the messages included): ${(cpuMs / batches).toFixed(1)} ms`,
      `throughput: ${((messages * batches) / (wallMs.reduce((a, b) => a + b, 0) / 1000)).toFixed(0)} msg/s; transactions run again: ${[...retries].map(([k, n]) => `${k} ${n}`).join(', ')}`,
      '',
      '| phase | ms per batch | share of commit time |',
      '|---|---|---|',
      ...rows(phases, total),
      '',
      '| statement (in the transaction) | ms per batch | share of transaction |',
      '|---|---|---|',
      ...rows(statements, transaction),
      '',
    ].join('\n'),
  );
  await committer.idle();
  await counterOutbox.stop();
  await mysql.close();
  await redis.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
