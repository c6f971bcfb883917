import type * as grpc from '@grpc/grpc-js';
import type { IM } from '@tiertalk/proto';
import type { DomainDeps } from '../../domain-deps';
import { unary } from '../../unary';
import { OfflineReads } from './offline-reads';
import type { OfflineStores } from './offline-stores';
import { ReadAcks } from './read-ack';

/** This domain's unary DbProxy methods: offline messages, history and read acks (docs/FLOWS.md §6, §7). */
export function messageRpc(deps: DomainDeps, stores: OfflineStores): grpc.UntypedServiceImplementation {
  const reads = new OfflineReads(stores, deps.redis.unread, deps.log);
  const acks = new ReadAcks(stores, deps.redis.unread, deps.mysql.master, deps.log);
  return {
    UnreadCount: unary('UnreadCount', deps.log, (req: IM.Message.IMUnreadMsgCntReq) => reads.unreadCount(req)),
    MsgList: unary('MsgList', deps.log, (req: IM.Message.IMGetMsgListReq) => reads.msgList(req)),
    MsgById: unary('MsgById', deps.log, (req: IM.Message.IMGetMsgByIdReq) => reads.msgById(req)),
    LatestMsgId: unary('LatestMsgId', deps.log, (req: IM.Message.IMGetLatestMsgIdReq) => reads.latestMsgId(req)),
    ReadAck: unary('ReadAck', deps.log, (req: IM.Message.IMMsgDataReadAck) => acks.readAck(req)),
  };
}
