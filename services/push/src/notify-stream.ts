import type { Logger } from '@tiertalk/log';
import { IM, tiertalk, type NotifiedBatch, type NotifyBatch } from '@tiertalk/proto';
import { BatchedCallService } from '@tiertalk/rpc';
import type { PushPipeline, PushRequest } from './push-pipeline';

type Item = tiertalk.NotifyItem.$Properties;
type Reply = tiertalk.NotifiedItem.$Properties;

/** Items one route stream may have unanswered (answers are immediate: this only bounds a burst). */
const MAX_IN_FLIGHT = 4096;

/**
 * PushNotify.Notify: route's long-lived stream of push requests. Each item is
 * queued in the pipeline (or shed) and answered at once, in batches per turn;
 * the sends happen after.
 */
export function notifyStreamService(pipeline: PushPipeline, logger: Logger): BatchedCallService<NotifyBatch, NotifiedBatch, Item, Reply> {
  return new BatchedCallService<NotifyBatch, NotifiedBatch, Item, Reply>(
    {
      itemsOf: (batch) => batch.items ?? [],
      run: (item) => Promise.resolve({ ref: item.ref, accepted: pipeline.accept(requestOf(item)) }),
      failed: (item) => ({ ref: item.ref, accepted: false }),
      batchOf: (items, stop) => tiertalk.NotifiedBatch.create(stop ? { items, stop: IM.Server.IMStopReceivePacket.create({ result: 0 }) } : { items }),
    },
    { maxInFlight: MAX_IN_FLIGHT, logger: logger.child({ rpc: 'Notify' }) },
  );
}

function requestOf(item: Item): PushRequest {
  const req: PushRequest = { msg: item.msg, userIds: item.userIds ?? [] };
  // Unset reads as 0 (ANY) on a decoded item.
  if (item.fromClientClass) req.fromClientClass = item.fromClientClass;
  return req;
}
