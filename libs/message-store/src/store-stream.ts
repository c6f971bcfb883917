import { DbProxyService, tiertalk } from '@tiertalk/proto';
import type { MsgStoreBatch, MsgStoredBatch } from '@tiertalk/proto';
import type { BatchProtocol, CorrelatedItem, CorrelatedStream } from '@tiertalk/rpc';

/** What a store stream needs to know of an item it carries. */
export interface StreamItem extends CorrelatedItem {
  readonly msg: tiertalk.MsgStoreItem.$Properties['msg'];
  readonly idemKey: string;
}

type StoredItem = tiertalk.MsgStoredItem.$Properties;

/** One DbProxy.StoreMessages bidi stream to one db-proxy instance (see CorrelatedStream). */
export type StoreStream<T extends StreamItem> = CorrelatedStream<T, MsgStoreBatch, MsgStoredBatch, StoredItem>;

/** How DbProxy.StoreMessages carries messages in batches and answers them by ref. */
export function storeProtocol<T extends StreamItem>(): BatchProtocol<T, MsgStoreBatch, MsgStoredBatch, StoredItem> {
  return {
    method: DbProxyService.StoreMessages,
    batchOf: (items) => tiertalk.MsgStoreBatch.create({ items: items.map((i) => tiertalk.MsgStoreItem.create({ ref: i.ref, msg: i.msg, idemKey: i.idemKey })) }),
    repliesOf: (batch) => batch.items,
    refOf: (reply) => reply.ref,
    isStop: (batch) => batch.stop !== null && batch.stop !== undefined,
  };
}
