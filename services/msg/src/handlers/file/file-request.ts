import { CID, IM, RouteService } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { sentFrom } from '../sent-from';

const { TransferFileType, UserStatType } = IM.BaseDefine;
const FILE_RSP_OK = 0;
const FILE_RSP_FAILED = 1;

/**
 * 0x0506 → 0x0507 (docs/FILES.md): the sender proposes a file. The gateway
 * asks a file server for a task (IMFileTransferReq over gRPC) and answers the
 * sender with the task id and that server's address; for an online transfer
 * the receiver's connections are offered the file (IMFileNotify, offline_ready 0).
 * An online request to a receiver without a PC session becomes an offline one
 * (TeamTalk asks route the same way), so the sender uploads instead of waiting.
 * No file server, a refusal (size limit) or no answer: IMFileRsp result 1, as
 * TeamTalk does without a file server.
 */
export async function onFileRequest(ctx: GatewayContext, conn: Connection, req: IM.File.IMFileReq, frame: Frame): Promise<void> {
  const from = conn.userId;
  const base = { fromUserId: from, toUserId: req.toUserId, fileName: req.fileName, transMode: req.transMode };
  const answer = (resultCode: number, taskId = '', ipAddrList: IM.BaseDefine.IpAddr.$Properties[] = []): void => {
    if (!conn.isClosed) conn.sendPdu(CID.CID_FILE_RESPONSE, frame.seqNum, IM.File.IMFileRsp.encode({ ...base, resultCode, taskId, ipAddrList }).finish());
  };
  if (req.toUserId === 0 || req.toUserId === from) {
    ctx.refusals.refuse('file_request_bad_receiver', conn.offender, { seq: frame.seqNum, to: req.toUserId });
    answer(FILE_RSP_FAILED);
    return;
  }
  const transMode = req.transMode === TransferFileType.FILE_TYPE_ONLINE && !(await receiverOnline(ctx, conn, req.toUserId)) ? TransferFileType.FILE_TYPE_OFFLINE : req.transMode;
  base.transMode = transMode;
  let task;
  try {
    task = await ctx.fileServers.transfer({ fromUserId: from, toUserId: req.toUserId, fileName: req.fileName, fileSize: req.fileSize, transMode });
  } catch (err) {
    conn.log.warn({ seq: frame.seqNum, err }, 'file server did not answer a transfer request');
    answer(FILE_RSP_FAILED);
    return;
  }
  if (task === undefined || task.rsp.resultCode !== FILE_RSP_OK || !task.rsp.taskId) {
    conn.log.info({ seq: frame.seqNum, to: req.toUserId, size: req.fileSize, noServer: task === undefined }, 'file transfer refused');
    answer(FILE_RSP_FAILED);
    return;
  }
  const taskId = task.rsp.taskId;
  answer(FILE_RSP_OK, taskId, task.address);
  if (transMode !== TransferFileType.FILE_TYPE_ONLINE) return;
  const notify = IM.File.IMFileNotify.encode({
    fromUserId: from,
    toUserId: req.toUserId,
    fileName: req.fileName,
    fileSize: req.fileSize,
    taskId,
    ipAddrList: task.address,
    transMode: TransferFileType.FILE_TYPE_ONLINE,
    offlineReady: 0,
  }).finish();
  ctx.route.deliver({ commandId: CID.CID_FILE_NOTIFY, body: notify, toUserIds: [req.toUserId], ...sentFrom(ctx, conn) });
}

/** The receiver has a PC session somewhere (route's registry); a failed query counts as offline (an upload works either way). */
async function receiverOnline(ctx: GatewayContext, conn: Connection, userId: number): Promise<boolean> {
  try {
    const rsp = await ctx.route.call(RouteService.UsersStat, IM.Buddy.IMUsersStatReq.create({ userId: conn.userId, userIdList: [userId] }));
    return rsp.userStatList.some((s) => s.userId === userId && s.status === UserStatType.USER_STATUS_ONLINE);
  } catch (err) {
    conn.log.warn({ err, userId }, 'receiver status unknown: file sent offline');
    return false;
  }
}
