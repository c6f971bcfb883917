import type * as grpc from '@grpc/grpc-js';
import type { IM } from '@tiertalk/proto';
import type { DomainDeps } from '../../domain-deps';
import { unary } from '../../unary';
import type { OfflineStores } from '../message/offline-stores';
import { ReadAcks } from '../message/read-ack';
import { RecentSessions } from './recent-sessions';

/** This domain's unary DbProxy methods: recent sessions and their removal (docs/FLOWS.md §8). */
export function sessionRpc(deps: DomainDeps, stores: OfflineStores): grpc.UntypedServiceImplementation {
  const sessions = new RecentSessions(stores, new ReadAcks(stores, deps.redis.unread, deps.mysql.master, deps.log), deps.mysql, deps.log);
  return {
    RecentSessions: unary('RecentSessions', deps.log, (req: IM.Buddy.IMRecentContactSessionReq) => sessions.list(req)),
    RemoveSession: unary('RemoveSession', deps.log, (req: IM.Buddy.IMRemoveSessionReq) => sessions.remove(req)),
  };
}
