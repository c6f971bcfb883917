import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import type { MsgStoreBatch, MsgStoredBatch } from '@tiertalk/proto';
import { tiertalk } from '@tiertalk/proto';
import { BatchedCallService } from '@tiertalk/rpc';
import type { MessageCommitter } from './message-committer';

type Item = tiertalk.MsgStoreItem.$Properties;
type Reply = tiertalk.MsgStoredItem.$Properties;

/**
 * DbProxy.StoreMessages: one long-lived bidi stream per gateway. Items go to
 * the group committer; replies are batched per stream per event-loop turn
 * (BatchedCallService). While too much waits to be committed every stream is
 * paused (backpressure reaches the gateways through gRPC flow control).
 */
export class StoreMessagesService {
  private readonly service: BatchedCallService<MsgStoreBatch, MsgStoredBatch, Item, Reply>;

  constructor(
    private readonly committer: MessageCommitter,
    queueMax: number,
    log: Logger,
  ) {
    this.service = new BatchedCallService<MsgStoreBatch, MsgStoredBatch, Item, Reply>(
      {
        itemsOf: (batch) => batch.items,
        // Committed even when the gateway went away: the message was accepted.
        run: (item) => this.store(item),
        failed: (item, err) => {
          log.error({ err }, 'message store failed');
          return { ref: item.ref, msgId: 0, result: tiertalk.StoreResult.STORE_REJECTED, reason: 'internal error', code: 'internal' };
        },
        batchOf: (items, stop) => tiertalk.MsgStoredBatch.create({ items, ...(stop ? { stop: { result: 0 } } : {}) }),
      },
      {
        backpressure: {
          full: () => committer.queued > queueMax,
          hasRoom: () => committer.queued <= queueMax / 2,
          onProgress: (listener) => committer.onProgress(listener),
        },
        logger: log,
        streamLog: { name: 'message', lifecycle: 'info', error: 'warn' },
      },
    );
  }

  readonly handle = (call: grpc.ServerDuplexStream<MsgStoreBatch, MsgStoredBatch>): void => this.service.handle(call);

  /** SIGTERM: tell every gateway to stop sending (IMStopReceivePacket), finish what arrived, end the streams. */
  async drain(timeoutMs: number): Promise<void> {
    await this.service.drain(timeoutMs);
    await this.committer.idle();
  }

  private store(item: Item): Promise<Reply> {
    const ref = item.ref;
    if (item.msg === null || item.msg === undefined) {
      return Promise.resolve({ ref, msgId: 0, result: tiertalk.StoreResult.STORE_REJECTED, reason: 'no message', code: 'message_invalid' });
    }
    const msg = item.msg;
    return new Promise((resolve) =>
      this.committer.submit({
        msg,
        // proto2 optional: an absent key reads as ''.
        ...(item.idemKey ? { idemKey: item.idemKey } : {}),
        done: (o) =>
          resolve({ ref, msgId: o.msgId, result: o.result, ...(o.reason ? { reason: o.reason } : {}), ...(o.code ? { code: o.code } : {}), ...(o.memberIds ? { memberIds: o.memberIds } : {}) }),
      }),
    );
  }
}
