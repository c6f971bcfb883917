import type { Socket } from 'node:net';
import type { Logger } from '@tiertalk/log';
import { RefusalLog } from '@tiertalk/metrics';
import { encodeFrame, FrameReader, type Frame } from '@tiertalk/pdu';
import { CID, IM, commandName, serviceIdOf } from '@tiertalk/proto';
import { ChunkReader } from './chunk-reader';
import { fileMetrics } from './file-metrics';
import type { OfflineStore } from './offline-store';
import type { TaskTable } from './task-table';
import type { TaskPeer, TransferTask } from './transfer-task';

const { TransferFileType, ClientFileRole, ClientFileState } = IM.BaseDefine;

/** TeamTalk's offline segment (SEGMENT_SIZE in transfer_task.h): the server pulls an upload in 32 KiB pieces. */
export const UPLOAD_SEGMENT_BYTES = 32768;
const LOGIN_OK = 0;
const LOGIN_FAILED = 1;
const PULL_OK = 0;
const PULL_FAILED = 1;

export interface SessionDeps {
  tasks: TaskTable;
  offline: OfflineStore;
  maxChunkBytes: number;
  /** A connection that has not logged in to a task within this is closed. */
  loginTimeoutMs: number;
  refusals: RefusalLog;
  logger: Logger;
}

/**
 * One client connection to the file server, speaking TeamTalk's PDUs
 * (docs/FILES.md): IMFileLoginReq joins a task, then chunks move as
 * IMFilePullDataReq / IMFilePullDataRsp — relayed between the two clients of
 * an online task, pulled from the uploader into storage, or served from
 * storage to the downloader — and IMFileState ends it.
 */
export class ClientSession implements TaskPeer {
  userId = 0;
  private task: TransferTask | undefined;
  private readonly reader: FrameReader;
  private closed = false;
  private loggingIn = false;
  /** Frames are handled one at a time: an upload's chunks are written in order. */
  private queue: Promise<void> = Promise.resolve();
  private readonly loginTimer: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    private readonly socket: Socket,
    private readonly deps: SessionDeps,
  ) {
    this.log = deps.logger.child({ peer: `${socket.remoteAddress}:${socket.remotePort}` });
    this.reader = new FrameReader({ maxFrameBytes: deps.maxChunkBytes + 4096 });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'file client socket error'));
    socket.on('close', () => this.onClosed());
    this.loginTimer = setTimeout(() => {
      if (this.task === undefined) this.close('no login to a task in time');
    }, deps.loginTimeoutMs);
    this.loginTimer.unref();
  }

  private get offender(): string {
    return this.userId > 0 ? `user ${this.userId}` : `${this.socket.remoteAddress}`;
  }

  send(commandId: number, seqNum: number, body: Uint8Array): void {
    if (!this.closed) this.socket.write(encodeFrame(serviceIdOf(commandId), commandId, seqNum, body));
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.loginTimer);
    this.log.debug({ reason, userId: this.userId }, 'file client closed');
    this.socket.end();
    this.socket.destroySoon();
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.deps.refusals.refuse('file_bad_frame', this.offender, { err: (err as Error).message });
      this.close('bad frame');
      return;
    }
    for (const frame of frames) {
      this.queue = this.queue.then(() => (this.closed ? undefined : this.onFrame(frame))).catch((err: unknown) => {
        this.log.error({ err, command: commandName(frame.commandId) }, 'file client frame failed');
        this.fail('internal error');
      });
    }
  }

  private onClosed(): void {
    this.closed = true;
    clearTimeout(this.loginTimer);
    const task = this.task;
    if (task === undefined) return;
    // A side that leaves ends the task, except an uploader after its upload completed (then the task is already gone).
    this.deps.tasks.end(task, 'failed', `user ${this.userId} disconnected`);
  }

  private async onFrame(frame: Frame): Promise<void> {
    switch (frame.commandId) {
      case CID.CID_OTHER_HEARTBEAT:
        // A joined client that is still there keeps its task alive (a receiver may take a while to accept an offer).
        this.task?.touch(Date.now());
        this.send(CID.CID_OTHER_HEARTBEAT, frame.seqNum, frame.body);
        return;
      case CID.CID_FILE_LOGIN_REQ:
        return this.onLogin(frame);
      case CID.CID_FILE_STATE:
        return this.onState(frame);
      case CID.CID_FILE_PULL_DATA_REQ:
        return this.onPullReq(frame);
      case CID.CID_FILE_PULL_DATA_RSP:
        return this.onPullRsp(frame);
      default:
        this.deps.refusals.refuse('file_unknown_command', this.offender, { cid: frame.commandId });
    }
  }

  private decode<T>(frame: Frame, decode: (b: Uint8Array) => T): T | undefined {
    try {
      return decode(frame.body);
    } catch (err) {
      this.deps.refusals.refuse('file_undecodable_body', this.offender, { command: commandName(frame.commandId), err: (err as Error).message });
      return undefined;
    }
  }

  private async onLogin(frame: Frame): Promise<void> {
    const req = this.decode(frame, IM.File.IMFileLoginReq.decode);
    if (req === undefined) return this.close('undecodable login');
    if (this.task !== undefined || this.loggingIn) {
      this.deps.refusals.refuse('file_second_login', this.offender, { taskId: req.taskId });
      return;
    }
    this.loggingIn = true;
    const role = req.fileRole;
    const task = role === ClientFileRole.CLIENT_OFFLINE_DOWNLOAD ? await this.deps.tasks.forDownload(req.taskId) : this.deps.tasks.get(req.taskId);
    if (this.closed) return;
    if (task === undefined || !task.admits(req.userId, role)) {
      this.deps.refusals.refuse('file_login_refused', `user ${req.userId}`, { taskId: req.taskId, role, known: task !== undefined });
      this.send(CID.CID_FILE_LOGIN_RES, frame.seqNum, IM.File.IMFileLoginRsp.encode({ resultCode: LOGIN_FAILED, taskId: req.taskId }).finish());
      this.close('login refused');
      return;
    }
    this.userId = req.userId;
    this.task = task;
    clearTimeout(this.loginTimer);
    task.touch(Date.now());
    this.send(CID.CID_FILE_LOGIN_RES, frame.seqNum, IM.File.IMFileLoginRsp.encode({ resultCode: LOGIN_OK, taskId: task.taskId }).finish());
    this.log.info({ taskId: task.taskId, userId: this.userId, role, size: task.fileSize }, 'file client joined a task');

    if (task.online) {
      if (role === ClientFileRole.CLIENT_REALTIME_SENDER) task.sender = this;
      else task.receiver = this;
      if (task.sender !== undefined && task.receiver !== undefined) {
        task.state = 'transferring';
        // TeamTalk tells the receiver its peer is there; the receiver then pulls.
        task.receiver.send(CID.CID_FILE_STATE, 0, stateBody(ClientFileState.CLIENT_FILE_PEER_READY, task.taskId, task.fromUserId));
      } else {
        task.state = task.sender !== undefined ? 'waiting-receiver' : 'waiting-sender';
      }
      return;
    }
    if (role === ClientFileRole.CLIENT_OFFLINE_UPLOAD) {
      task.sender = this;
      task.state = 'uploading';
      task.upload = this.deps.offline.begin(task.taskId);
      // A failed store is reported where the upload is awaited; never unhandled.
      task.upload.done.catch(() => undefined);
      if (task.fileSize === 0) return this.finishUpload(task);
      this.pullNextSegment(task);
      return;
    }
    task.receiver = this;
    const body = await this.deps.offline.open(task.taskId);
    if (body === undefined) return this.fail('stored file gone');
    task.download = new ChunkReader(body);
  }

  private onState(frame: Frame): void {
    const task = this.task;
    const msg = this.decode(frame, IM.File.IMFileState.decode);
    if (task === undefined || msg === undefined) return;
    if (msg.taskId !== task.taskId || msg.userId !== this.userId) {
      this.deps.refusals.refuse('file_state_mismatch', this.offender, { taskId: msg.taskId });
      return;
    }
    const s = msg.state;
    if (s !== ClientFileState.CLIENT_FILE_CANCEL && s !== ClientFileState.CLIENT_FILE_DONE && s !== ClientFileState.CLIENT_FILE_REFUSE) return;
    // Forwarded to the other side as sent (TeamTalk), then the task ends.
    task.opponent(this)?.send(CID.CID_FILE_STATE, frame.seqNum, frame.body);
    const finished = s === ClientFileState.CLIENT_FILE_DONE && task.bytes === task.fileSize;
    this.deps.tasks.end(task, finished ? 'done' : 'cancelled', `user ${this.userId} sent state ${s}`);
  }

  private async onPullReq(frame: Frame): Promise<void> {
    const task = this.task;
    const req = this.decode(frame, IM.File.IMFilePullDataReq.decode);
    if (task === undefined || req === undefined) return;
    if (req.taskId !== task.taskId || req.userId !== this.userId || this !== task.receiver) return this.refusePull(frame, req, 'file_pull_not_receiver');
    if (req.dataSize === 0 || req.dataSize > this.deps.maxChunkBytes) return this.refusePull(frame, req, 'file_pull_bad_size');
    task.touch(Date.now());
    if (task.online) {
      if (task.state !== 'transferring' || task.sender === undefined) return this.refusePull(frame, req, 'file_pull_not_ready');
      task.pullSeq = frame.seqNum;
      task.pullPending = true;
      task.sender.send(CID.CID_FILE_PULL_DATA_REQ, frame.seqNum, frame.body);
      return;
    }
    const reader = task.download;
    if (reader === undefined || req.offset !== reader.position || req.offset >= task.fileSize) return this.refusePull(frame, req, 'file_pull_bad_offset');
    const data = await reader.take(Math.min(req.dataSize, task.fileSize - req.offset));
    if (data.length === 0) return this.fail('stored file shorter than recorded');
    task.bytes += data.length;
    fileMetrics.bytes.inc({ direction: 'downloaded' }, data.length);
    this.send(CID.CID_FILE_PULL_DATA_RSP, frame.seqNum, IM.File.IMFilePullDataRsp.encode({ resultCode: PULL_OK, taskId: task.taskId, userId: this.userId, offset: req.offset, fileData: data }).finish());
    if (task.bytes === task.fileSize) {
      this.send(CID.CID_FILE_STATE, 0, stateBody(ClientFileState.CLIENT_FILE_DONE, task.taskId, task.fromUserId));
      this.deps.tasks.end(task, 'done', 'download complete');
    }
  }

  private async onPullRsp(frame: Frame): Promise<void> {
    const task = this.task;
    const rsp = this.decode(frame, IM.File.IMFilePullDataRsp.decode);
    if (task === undefined || rsp === undefined) return;
    if (rsp.taskId !== task.taskId || rsp.userId !== this.userId || this !== task.sender) {
      this.deps.refusals.refuse('file_data_not_sender', this.offender, { taskId: rsp.taskId });
      return this.fail('data from a client that is not the sender');
    }
    const size = rsp.fileData.length;
    if (task.bytes + size > task.fileSize) {
      this.deps.refusals.refuse('file_data_oversize', this.offender, { taskId: task.taskId, declared: task.fileSize, got: task.bytes + size });
      return this.fail('more data than the file size');
    }
    task.touch(Date.now());
    if (task.online) {
      if (task.state !== 'transferring' || task.receiver === undefined || !task.pullPending) {
        this.deps.refusals.refuse('file_data_unasked', this.offender, { taskId: task.taskId });
        return this.fail('data nobody asked for');
      }
      task.pullPending = false;
      task.bytes += size;
      fileMetrics.bytes.inc({ direction: 'relayed' }, size);
      task.receiver.send(CID.CID_FILE_PULL_DATA_RSP, task.pullSeq, frame.body);
      return;
    }
    const upload = task.upload;
    const expected = Math.min(UPLOAD_SEGMENT_BYTES, task.fileSize - task.bytes);
    if (upload === undefined || rsp.offset !== task.bytes || size !== expected) {
      this.deps.refusals.refuse('file_upload_bad_chunk', this.offender, { taskId: task.taskId, offset: rsp.offset, size, expectedOffset: task.bytes, expected });
      return this.fail('upload chunk out of order');
    }
    await new Promise<void>((resolve, reject) => upload.sink.write(rsp.fileData, (err) => (err ? reject(err) : resolve())));
    task.bytes += size;
    fileMetrics.bytes.inc({ direction: 'uploaded' }, size);
    if (task.bytes === task.fileSize) return this.finishUpload(task);
    this.pullNextSegment(task);
  }

  /** Asks the uploader for its next segment (TeamTalk's server-driven offline upload). */
  private pullNextSegment(task: TransferTask): void {
    const req = IM.File.IMFilePullDataReq.encode({
      taskId: task.taskId,
      userId: this.userId,
      transMode: TransferFileType.FILE_TYPE_OFFLINE,
      offset: task.bytes,
      dataSize: Math.min(UPLOAD_SEGMENT_BYTES, task.fileSize - task.bytes),
    }).finish();
    this.send(CID.CID_FILE_PULL_DATA_REQ, 0, req);
  }

  private async finishUpload(task: TransferTask): Promise<void> {
    const upload = task.upload;
    if (upload === undefined) return;
    upload.sink.end();
    try {
      await upload.done;
      await this.deps.offline.finish({ taskId: task.taskId, fromUserId: task.fromUserId, toUserId: task.toUserId, fileName: task.fileName, fileSize: task.fileSize, created: Math.floor(Date.now() / 1000) });
    } catch (err) {
      this.log.error({ err, taskId: task.taskId }, 'offline file not stored');
      return this.fail('store failed');
    }
    task.upload = undefined;
    // The uploader is told it is done (it then sends IMFileAddOfflineReq to its gateway).
    this.send(CID.CID_FILE_STATE, 0, stateBody(ClientFileState.CLIENT_FILE_DONE, task.taskId, this.userId));
    this.deps.tasks.end(task, 'done', 'upload complete');
  }

  private refusePull(frame: Frame, req: IM.File.IMFilePullDataReq, reason: string): void {
    this.deps.refusals.refuse(reason, this.offender, { taskId: req.taskId, offset: req.offset, size: req.dataSize });
    this.send(CID.CID_FILE_PULL_DATA_RSP, frame.seqNum, IM.File.IMFilePullDataRsp.encode({ resultCode: PULL_FAILED, taskId: req.taskId, userId: req.userId, offset: req.offset, fileData: new Uint8Array(0) }).finish());
    this.fail(reason);
  }

  /** Something went wrong with this side: the task ends and closes both sides (this one directly when it has no task left). */
  private fail(reason: string): void {
    if (this.task !== undefined && this.deps.tasks.end(this.task, 'failed', reason)) return;
    this.close(reason);
  }
}

function stateBody(state: IM.BaseDefine.ClientFileState, taskId: string, userId: number): Uint8Array {
  return IM.File.IMFileState.encode({ state, taskId, userId }).finish();
}
