import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import { unaryHandler } from '@tiertalk/rpc';
import { fileMetrics } from './file-metrics';
import type { TaskTable } from './task-table';

const { TransferFileType } = IM.BaseDefine;
const TRANSFER_OK = 0;
const TRANSFER_FAILED = 1;
/** TeamTalk's file-name column (IMTransmitFile.fileName varchar(255)). */
const FILE_NAME_MAX_CHARS = 255;

export interface TransferRpcDeps {
  tasks: TaskTable;
  maxFileBytes: number;
  /** Where clients reach this instance. */
  address: IM.BaseDefine.IpAddr.$Properties;
  logger: Logger;
}

/** The FileServer gRPC service: tasks for the gateways' IMFileReq, and this server's client address. */
export function transferRpc(deps: TransferRpcDeps): grpc.UntypedServiceImplementation {
  // Refusals are answers with a result code (TeamTalk's); the adapter only sees unexpected failures.
  const transfer = unaryHandler<IM.Server.IMFileTransferReq, IM.Server.IMFileTransferRsp>({ name: 'Transfer', log: deps.logger }, (req) => {
    const refused = (reason: string): IM.Server.IMFileTransferRsp => {
      fileMetrics.transferRefused.inc({ reason });
      deps.logger.info({ from: req.fromUserId, to: req.toUserId, size: req.fileSize, reason }, 'transfer task refused');
      return IM.Server.IMFileTransferRsp.create({ resultCode: TRANSFER_FAILED, fromUserId: req.fromUserId, toUserId: req.toUserId, fileName: req.fileName, fileSize: req.fileSize, transMode: req.transMode });
    };
    const mode = req.transMode;
    if (mode !== TransferFileType.FILE_TYPE_ONLINE && mode !== TransferFileType.FILE_TYPE_OFFLINE) return refused('bad_request');
    if (req.fromUserId === 0 || req.toUserId === 0 || req.fromUserId === req.toUserId) return refused('bad_request');
    if (req.fileName === '' || [...req.fileName].length > FILE_NAME_MAX_CHARS) return refused('bad_request');
    if (req.fileSize > deps.maxFileBytes) return refused('too_large');
    if (deps.tasks.full) return refused('too_many_tasks');
    const task = deps.tasks.create(mode, req.fromUserId, req.toUserId, req.fileName, req.fileSize);
    deps.logger.info({ taskId: task.taskId, from: req.fromUserId, to: req.toUserId, size: req.fileSize, mode }, 'transfer task created');
    return IM.Server.IMFileTransferRsp.create({ resultCode: TRANSFER_OK, fromUserId: req.fromUserId, toUserId: req.toUserId, fileName: req.fileName, fileSize: req.fileSize, taskId: task.taskId, transMode: mode });
  });
  const serverIp = unaryHandler<IM.Server.IMFileServerIPReq, IM.Server.IMFileServerIPRsp>({ name: 'ServerIp', log: deps.logger }, () =>
    IM.Server.IMFileServerIPRsp.create({ ipAddrList: [deps.address] }),
  );
  return { Transfer: transfer, ServerIp: serverIp };
}
