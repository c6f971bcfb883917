import { CID, DbProxyService, IM } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { sentFrom } from '../sent-from';

const { TransferFileType } = IM.BaseDefine;

/**
 * 0x0509 → 0x050a (docs/FILES.md): the connection's user's offline files from
 * IMTransmitFile, with the file servers' client addresses added here (as
 * TeamTalk's msg_server does). With db-proxy unreachable the list is empty,
 * as in TeamTalk, so the client is never left waiting.
 */
export async function onFileHasOffline(ctx: GatewayContext, conn: Connection, _req: IM.File.IMFileHasOfflineReq, frame: Frame): Promise<void> {
  const userId = conn.userId;
  let files: IM.BaseDefine.OfflineFileInfo.$Properties[] = [];
  try {
    const rsp = await ctx.db.call(DbProxyService.FileHasOffline, IM.File.IMFileHasOfflineReq.create({ userId }));
    files = rsp.offlineFileList;
  } catch (err) {
    conn.log.warn({ seq: frame.seqNum, err }, 'offline file list failed: answered empty');
  }
  if (conn.isClosed) return;
  const body = IM.File.IMFileHasOfflineRsp.encode({ userId, offlineFileList: files, ipAddrList: ctx.fileServers.addresses() }).finish();
  conn.sendPdu(CID.CID_FILE_HAS_OFFLINE_RES, frame.seqNum, body);
}

/**
 * 0x050b: the sender finished its upload to the file server; record it for the
 * receiver (from_user_id is the connection's user) and tell the receiver's
 * connections on every gateway that the file is ready (IMFileNotify,
 * offline_ready 1). TeamTalk sends no reply PDU.
 */
export async function onFileAddOffline(ctx: GatewayContext, conn: Connection, req: IM.File.IMFileAddOfflineReq, frame: Frame): Promise<void> {
  const from = conn.userId;
  const to = req.toUserId;
  if (to === 0 || to === from) {
    ctx.refusals.refuse('file_offline_bad_receiver', conn.offender, { seq: frame.seqNum, to });
    return;
  }
  const record = IM.File.IMFileAddOfflineReq.create({ fromUserId: from, toUserId: to, taskId: req.taskId, fileName: req.fileName, fileSize: req.fileSize });
  try {
    await ctx.db.call(DbProxyService.FileAddOffline, record);
  } catch (err) {
    conn.log.warn({ seq: frame.seqNum, to, taskId: req.taskId, err }, 'offline file not recorded');
    return;
  }
  const notify = IM.File.IMFileNotify.encode({
    fromUserId: from,
    toUserId: to,
    fileName: req.fileName,
    fileSize: req.fileSize,
    taskId: req.taskId,
    ipAddrList: ctx.fileServers.addresses(),
    transMode: TransferFileType.FILE_TYPE_OFFLINE,
    offlineReady: 1,
  }).finish();
  ctx.route.deliver({ commandId: CID.CID_FILE_NOTIFY, body: notify, toUserIds: [to], ...sentFrom(ctx, conn) });
}

/**
 * 0x050c: removes an offline file record. Only its sender or its receiver may
 * (TeamTalk does not check; here nobody deletes records between other users).
 */
export async function onFileDelOffline(ctx: GatewayContext, conn: Connection, req: IM.File.IMFileDelOfflineReq, frame: Frame): Promise<void> {
  const me = conn.userId;
  if (req.fromUserId !== me && req.toUserId !== me) {
    ctx.refusals.refuse('file_offline_not_party', conn.offender, { seq: frame.seqNum, from: req.fromUserId, to: req.toUserId });
    return;
  }
  const record = IM.File.IMFileDelOfflineReq.create({ fromUserId: req.fromUserId, toUserId: req.toUserId, taskId: req.taskId });
  try {
    await ctx.db.call(DbProxyService.FileDelOffline, record);
  } catch (err) {
    conn.log.warn({ seq: frame.seqNum, taskId: req.taskId, err }, 'offline file record not deleted');
  }
}
