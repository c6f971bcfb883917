import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { aesKey, commonConfigSchema, intRange, loadConfig, port, positiveInt, redisUrl, requireUrlPassword, secret, url } from '@tiertalk/config';
import { TEAMTALK_DEFAULT_AES_KEY } from '@tiertalk/proto';
import { parseShardMap, type ShardPlacement } from './store/shard-map';

// Development defaults (TT_ENV=development); production must set each (docs/SECURITY.md, secrets).
// A URL may name a Redis Cluster instead (redis-cluster://host:port,...; docs/OPERATIONS.md "Redis Cluster").
const devRedis = (db: number) => secret(redisUrl(), { devDefault: `redis://127.0.0.1:6379/${db}` });

// TeamTalk's db-proxy keeps five logical Redis instances (docs/STORAGE.md §2); each
// has its own URL here so they can live on separate servers. The db numbers
// default to TeamTalk's (db 1, sync in db 2).
export const dbProxyConfigSchema = commonConfigSchema.extend({
  TT_GRPC_PORT: port(10600),
  TT_MYSQL_MASTER_URL: secret(url(), { devDefault: 'mysql://root@127.0.0.1:3306/teamtalk', refuseInProduction: requireUrlPassword }),
  // Reads that tolerate replica lag (history, directory) go here; login and access checks use the master. Defaults to the master.
  TT_MYSQL_REPLICA_URL: secret(url().optional(), { refuseInProduction: requireUrlPassword }),
  // Message shards on other MySQL servers (docs/OPERATIONS.md "Message shards on several servers"):
  // `<shards>=<url>` entries separated by `;`, e.g. `4-7=mysql://tt:pw@db2:3306/teamtalk`; unlisted shards stay on the master.
  TT_MYSQL_SHARDS: secret(shardMap(), { refuseInProduction: shardUrlsWithoutPassword }),
  // A shard server's part of a commit not done within this: its messages are answered STORE_FAILED (the gateway
  // retries), and the rest of the batch goes on instead of waiting behind a hung server.
  TT_MYSQL_SHARD_TIMEOUT_MS: intRange(100, 600_000, 5000),
  TT_MYSQL_POOL_SIZE: intRange(1, 200, 8),
  // Requests that may wait for a pooled MySQL connection; beyond it a request fails at once (counted
  // as refusal mysql_pool_queue_full) instead of queueing unbounded work behind a flood.
  TT_MYSQL_QUEUE_LIMIT: intRange(1, 1_000_000, 2000),
  TT_REDIS_UNREAD_URL: devRedis(1),
  TT_REDIS_GROUP_SET_URL: devRedis(1),
  TT_REDIS_TOKEN_URL: devRedis(1),
  TT_REDIS_SYNC_URL: devRedis(2),
  TT_REDIS_GROUP_MEMBER_URL: devRedis(1),
  // Group commit: at most this many messages per transaction.
  TT_COMMIT_BATCH_MAX: intRange(1, 5000, 1000),
  // Group commits in flight at once, each over its own conversations (a conversation's messages stay in order in one lane);
  // the writer pool gets at least this many connections. 1: on the 2-core machine measured, more lanes gained nothing
  // (docs/BENCHMARKS.md "Where a message commit's time goes"); raise it where MySQL has cores to spare.
  TT_STORE_COMMIT_LANES: intRange(1, 64, 1),
  // Stop reading a gateway's stream while this many messages wait to be committed.
  TT_COMMIT_QUEUE_MAX: positiveInt(20000),
  // Idempotent stores: a second item with the same (sender, idem_key) within this window is answered, not stored again.
  TT_STORE_DEDUPE_WINDOW_SEC: positiveInt(300),
  // How often each instance purges idempotency rows older than the window (in small chunks).
  TT_STORE_DEDUPE_PURGE_SEC: positiveInt(30),
  // How often each instance applies counter deltas left in the outbox (after a Redis failure or a crash).
  TT_COUNTER_REPAIR_SEC: positiveInt(5),
  // Unread counters after the unread Redis lost its data (docs/RELIABILITY.md): how often its epoch key is
  // checked, and how many of a user's recent sessions get their unread rebuilt from MySQL.
  TT_UNREAD_EPOCH_CHECK_SEC: positiveInt(3),
  TT_UNREAD_REBUILD_SESSIONS: intRange(1, 10000, 100),
  // Login lockout (docs/SECURITY.md "Login lockout"), counted in the token Redis so every instance shares it:
  // attempts of one name from one client IP that may fail within the window (docs/FLOWS.md §2 counted per name only)...
  TT_LOGIN_FAIL_LIMIT: intRange(1, 1000, 10),
  TT_LOGIN_FAIL_WINDOW_SEC: positiveInt(1800),
  // ...failed attempts from one IP (any names) within the same window...
  TT_LOGIN_IP_FAIL_LIMIT: intRange(1, 1_000_000, 100),
  // ...and login attempts from one IP (right or wrong) per rate window.
  TT_LOGIN_IP_RATE_LIMIT: intRange(1, 1_000_000, 100),
  TT_LOGIN_IP_RATE_WINDOW_SEC: intRange(1, 3600, 10),
  // Passwords (docs/SECURITY.md "Passwords"): argon2id cost of new hashes (OWASP's minimum: 19 MiB, 2 passes, 1 lane).
  TT_ARGON2_MEMORY_KIB: intRange(1024, 4_194_304, 19456),
  TT_ARGON2_TIME_COST: intRange(1, 100, 2),
  TT_ARGON2_PARALLELISM: intRange(1, 16, 1),
  // Login checks hashed at once on libuv's pool (plus one background rehash: keep the sum at most UV_THREADPOOL_SIZE,
  // default 4, which DNS and file I/O share); more wait, up to the queue limit.
  TT_PASSWORD_HASH_CONCURRENCY: intRange(1, 1024, Math.max(1, Math.min(2, availableParallelism()))),
  TT_PASSWORD_HASH_QUEUE_MAX: intRange(1, 1_000_000, 2000),
  // Outcomes of argon2 checks remembered (as keyed HMACs) so a reconnecting client is not hashed again.
  TT_PASSWORD_CACHE_MAX: intRange(0, 10_000_000, 100_000),
  TT_PASSWORD_CACHE_TTL_SEC: intRange(1, 86400, 600),
  TT_SHUTDOWN_GRACE_MS: positiveInt(4000),
  // Readiness (docs/HEALTH.md): how often MySQL/Redis are pinged; a ping unanswered within it fails the check.
  TT_HEALTH_INTERVAL_MS: intRange(100, 60000, 2000),
  // Conversation index in the sync Redis (store/conversation-index.ts): conversations
  // kept per user (RecentSessions answers at most 100) and how long an idle user's index lives.
  TT_CONV_INDEX_LIMIT: intRange(1, 10000, 100),
  TT_CONV_INDEX_TTL_SEC: positiveInt(604800),
  // Group administration (IM.Group TierTalk extensions): members per group, admins per group.
  TT_GROUP_MEMBER_LIMIT: intRange(2, 100000, 3000),
  TT_GROUP_ADMIN_LIMIT: intRange(0, 1000, 10),
  // Audio bytes per message (after the 4-byte duration): a history page of 100 audio messages must stay
  // below gRPC's 16 MiB message size. Larger ones are refused (STORE_REJECTED, message_audio_too_large).
  TT_AUDIO_MAX_BYTES: intRange(1, 1024 * 1024, 128 * 1024),
  // Message recall (docs/PROTOCOL.md §6): a message younger than this many seconds may be recalled by its sender; 0 turns recall off.
  TT_RECALL_WINDOW_SEC: intRange(0, 7 * 86400, 120),
  // docs/PROTOCOL.md §5: TeamTalk's aesKey, used as an AES-256 key; audio previews show "[语音]" encrypted with it.
  // TeamTalk's published key only in development: in production it would protect nothing.
  TT_AES_KEY: aesKey(TEAMTALK_DEFAULT_AES_KEY),
});

/** TT_MYSQL_SHARDS parsed and checked (store/shard-map.ts); unset or empty: every shard on the master. */
function shardMap() {
  return z
    .string()
    .default('')
    .transform((text, ctx): ShardPlacement[] => {
      try {
        return parseShardMap(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
        return z.NEVER;
      }
    });
}

/** Production: every shard server's URL carries a password, as the master's must (checked on the raw text). */
function shardUrlsWithoutPassword(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let placements: ShardPlacement[];
  try {
    placements = parseShardMap(value);
  } catch {
    return undefined; // the schema reports what is wrong with it
  }
  return placements.map((p) => requireUrlPassword(p.url)).find((r) => r !== undefined);
}

export type DbProxyConfig = z.infer<typeof dbProxyConfigSchema>;

export function loadDbProxyConfig(env: NodeJS.ProcessEnv = process.env): Readonly<DbProxyConfig> {
  return loadConfig(dbProxyConfigSchema, { env, service: 'db-proxy' });
}
