import type * as grpc from '@grpc/grpc-js';
import type { IM } from '@tiertalk/proto';
import type { DomainDeps } from '../../domain-deps';
import { TransmitFileStore } from '../../store/transmit-files';
import { unary } from '../../unary';
import { OfflineFileHandlers } from './offline-files';

/** This domain's unary DbProxy methods: offline file records (docs/FILES.md). */
export function fileRpc(deps: DomainDeps): grpc.UntypedServiceImplementation {
  const files = new OfflineFileHandlers(new TransmitFileStore(deps.mysql.master), deps.log);
  return {
    FileHasOffline: unary('FileHasOffline', deps.log, (req: IM.File.IMFileHasOfflineReq) => files.hasOffline(req)),
    FileAddOffline: unary('FileAddOffline', deps.log, (req: IM.File.IMFileAddOfflineReq) => files.addOffline(req)),
    FileDelOffline: unary('FileDelOffline', deps.log, (req: IM.File.IMFileDelOfflineReq) => files.delOffline(req)),
  };
}
