import type { Logger } from '@tiertalk/log';
import { countRedisErrors } from '@tiertalk/metrics';
import { createRedisClient, type RedisClient } from '@tiertalk/redis';
import type { Registry } from '@tiertalk/registry';
import { InstancePool, type RpcSecurity } from '@tiertalk/rpc';
import type { RouteConfig } from '../config';
import { DbProxyTokenSource } from './db-proxy-tokens';
import { OfflinePushNotifier } from './offline-push';
import type { OfflinePushOptions } from './offline-push';
import { PushStream } from './push-stream';
import { PushStreamConsumer } from './stream-consumer';

/** Receivers per GetDeviceToken lookup. */
const LOOKUP_BATCH_MAX = 500;
/** Queued pushes one route instance works on at once; the rest wait in Redis for whichever instance has room. */
const HOLD_MAX = 1000;
const REDIS_ERROR_LOG_INTERVAL_MS = 5000;

export interface CloseOptions {
  /**
   * Default true: unfinished pushes are appended to the queue again at once
   * for the other instances. false leaves them as a crash would (tests):
   * queued ones pending until claimed, in-memory ones lost.
   */
  handOver?: boolean;
}

export interface OfflinePush {
  notifier: OfflinePushNotifier;
  consumer: PushStreamConsumer;
  /** Aborts in-flight POSTs, hands unfinished pushes over (see CloseOptions) and closes the connections. */
  close(opts?: CloseOptions): Promise<void>;
}

export interface DurableOfflinePushOptions extends Omit<OfflinePushOptions, 'durable'> {
  /** Route's session Redis (TT_SESSION_REDIS_URL). */
  redisUrl: string;
  streamKey: string;
  /** Consumer name in the stream's group: the instance id. */
  consumer: string;
  claimIdleMs: number;
  holdMax: number;
}

/** The notifier on its durable queue, with two Redis connections of its own (one blocks in XREADGROUP). */
export function createDurableOfflinePush(opts: DurableOfflinePushOptions): OfflinePush {
  const { redisUrl, streamKey, consumer: consumerName, claimIdleMs, holdMax, ...notifierOpts } = opts;
  const log = opts.logger.child({ component: 'offline-push' });
  let lastErrorLog = 0;
  const connect = (role: string): RedisClient => {
    // Fail a command fast while Redis is down: offer() then keeps its batch in memory. Not auto-pipelined
    // (also on a cluster): the stream commands go through callBuffer, which ioredis cannot auto-pipeline.
    const conn = createRedisClient(redisUrl, { maxRetriesPerRequest: 1, connectionName: `offline-push-${role}`, enableAutoPipelining: false });
    return countRedisErrors(conn, 'offline_push', (err: Error) => {
      const now = Date.now();
      if (now - lastErrorLog < REDIS_ERROR_LOG_INTERVAL_MS) return;
      lastErrorLog = now;
      log.warn({ err, role }, 'offline-push redis error');
    });
  };
  const commands = connect('commands');
  const reader = connect('reader');
  const stream = new PushStream(commands, streamKey, opts.queueMax);
  const notifier = new OfflinePushNotifier({ ...notifierOpts, durable: stream });
  const consumer = new PushStreamConsumer({ stream, reader, sink: notifier, consumer: consumerName, holdMax, claimIdleMs, logger: opts.logger });
  consumer.start();
  return {
    notifier,
    consumer,
    async close({ handOver = true }: CloseOptions = {}) {
      // The Deliver server is down by now: let the last appends land (or fall back to memory) first.
      await notifier.appendsSettled();
      const unfinished = notifier.stop();
      await consumer.close();
      const inMemory = unfinished.filter((item) => item.streamId === undefined).length;
      if (handOver && unfinished.length > 0) {
        const held = unfinished.flatMap((item) => (item.streamId === undefined ? [] : [item.streamId]));
        try {
          await stream.requeue(unfinished, held);
          log.info({ pushes: unfinished.length }, 'unfinished offline pushes handed over to the other route instances');
        } catch (err) {
          log.warn({ err, pushes: unfinished.length, lost: inMemory }, 'offline pushes not handed over: queued ones wait to be claimed');
          notifier.countDropped(inMemory);
        }
      } else {
        notifier.countDropped(inMemory);
        if (unfinished.length > 0) log.info({ leftQueued: unfinished.length - inMemory, dropped: inMemory }, 'offline push stopped without hand-over');
      }
      log.info({ ...notifier.stats }, 'offline push stopped');
      commands.disconnect();
      reader.disconnect();
    },
  };
}

/** The offline-push webhook with its own db-proxy pool, or undefined when TT_PUSH_WEBHOOK_URL is unset. */
export async function startOfflinePush(config: RouteConfig, registry: Registry, logger: Logger, security: RpcSecurity): Promise<OfflinePush | undefined> {
  const webhookUrl = config.TT_PUSH_WEBHOOK_URL;
  if (webhookUrl === undefined) {
    logger.info('offline push webhook not configured (TT_PUSH_WEBHOOK_URL)');
    return undefined;
  }
  const dbPool = new InstancePool(await registry.watch('db-proxy'), { logger, security });
  const push = createDurableOfflinePush({
    webhookUrl,
    tokens: new DbProxyTokenSource(dbPool, config.TT_DB_DEADLINE_MS),
    logger,
    queueMax: config.TT_PUSH_QUEUE_MAX,
    maxAttempts: config.TT_PUSH_MAX_ATTEMPTS,
    retryBaseMs: config.TT_PUSH_RETRY_BASE_MS,
    retryMaxMs: config.TT_PUSH_RETRY_MAX_MS,
    timeoutMs: config.TT_PUSH_TIMEOUT_MS,
    concurrency: config.TT_PUSH_CONCURRENCY,
    lookupBatchMax: LOOKUP_BATCH_MAX,
    aesKey: config.TT_AES_KEY,
    redisUrl: config.TT_SESSION_REDIS_URL,
    streamKey: config.TT_PUSH_STREAM_KEY,
    consumer: config.TT_INSTANCE_ID,
    claimIdleMs: config.TT_PUSH_CLAIM_IDLE_MS,
    holdMax: Math.min(config.TT_PUSH_QUEUE_MAX, HOLD_MAX),
  });
  logger.info(
    { webhook: new URL(webhookUrl).origin, flash: config.TT_AES_KEY !== undefined, stream: config.TT_PUSH_STREAM_KEY },
    'offline push webhook enabled (durable queue in the session redis)',
  );
  return {
    ...push,
    async close(opts?: CloseOptions) {
      await push.close(opts);
      dbPool.close();
    },
  };
}
