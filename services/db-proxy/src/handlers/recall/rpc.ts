import type * as grpc from '@grpc/grpc-js';
import type { IM } from '@tiertalk/proto';
import type { DomainDeps } from '../../domain-deps';
import { unary } from '../../unary';
import type { OfflineStores } from '../message/offline-stores';
import { Readers } from './readers';
import { Recalls, type RecallOptions } from './recall';

/** TierTalk's recall and readers methods (docs/PROTOCOL.md §6). */
export function recallRpc(deps: DomainDeps, stores: OfflineStores, opts: RecallOptions): grpc.UntypedServiceImplementation {
  const recalls = new Recalls(stores, deps.redis.unread, deps.mysql.master, opts, deps.log);
  const readers = new Readers(stores, deps.mysql.master);
  return {
    MsgRecall: unary('MsgRecall', deps.log, (req: IM.Message.IMMsgRecallReq) => recalls.recall(req)),
    MsgReaders: unary('MsgReaders', deps.log, (req: IM.Message.IMMsgReadersReq) => readers.readers(req)),
  };
}
