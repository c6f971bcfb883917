import type { Logger } from '@tiertalk/log';
import type { Registry } from '@tiertalk/registry';
import { InstancePool } from '@tiertalk/rpc';
import type { RouteConfig } from '../config';
import { DbProxyTokenSource } from './db-proxy-tokens';
import { OfflinePushNotifier } from './offline-push';

/** Receivers per GetDeviceToken lookup. */
const LOOKUP_BATCH_MAX = 500;

export interface OfflinePush {
  notifier: OfflinePushNotifier;
  /** Aborts in-flight POSTs and closes the db-proxy pool. */
  close(): void;
}

/** The offline-push webhook with its own db-proxy pool, or undefined when TT_PUSH_WEBHOOK_URL is unset. */
export async function startOfflinePush(config: RouteConfig, registry: Registry, logger: Logger): Promise<OfflinePush | undefined> {
  const webhookUrl = config.TT_PUSH_WEBHOOK_URL;
  if (webhookUrl === undefined) {
    logger.info('offline push webhook not configured (TT_PUSH_WEBHOOK_URL)');
    return undefined;
  }
  const dbPool = new InstancePool(await registry.watch('db-proxy'), { logger });
  const notifier = new OfflinePushNotifier({
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
  });
  logger.info({ webhook: new URL(webhookUrl).origin, flash: config.TT_AES_KEY !== undefined }, 'offline push webhook enabled');
  return {
    notifier,
    close() {
      notifier.close();
      dbPool.close();
    },
  };
}
