import type { PassThrough } from 'node:stream';
import { IM } from '@tiertalk/proto';
import type { ChunkReader } from './chunk-reader';

const { TransferFileType, ClientFileRole } = IM.BaseDefine;

/** Where a task is (TeamTalk's TransferTaskState, the states this server uses). */
export type TaskState =
  | 'ready' // created, nobody logged in yet
  | 'waiting-sender' // online: the receiver is in, the sender not yet
  | 'waiting-receiver' // online: the sender is in, the receiver not yet
  | 'transferring' // online: both in, chunks relayed
  | 'uploading' // offline: the sender is uploading
  | 'downloading'; // offline: the receiver is downloading a stored file

/** One side's connection as the task sees it. */
export interface TaskPeer {
  readonly userId: number;
  send(commandId: number, seqNum: number, body: Uint8Array): void;
  close(reason: string): void;
}

/** One transfer: created for a gateway (IMFileTransferReq) or loaded from storage for a download. */
export class TransferTask {
  state: TaskState = 'ready';
  sender: TaskPeer | undefined;
  receiver: TaskPeer | undefined;
  /** Bytes moved so far (relayed online, stored while uploading, served while downloading). */
  bytes = 0;
  lastActive: number;
  /** Offline upload in progress: the bytes go into `sink`; `done` settles when the store has them. */
  upload: { sink: PassThrough; done: Promise<void> } | undefined;
  /** Offline download in progress: the stored file, read front to back. */
  download: ChunkReader | undefined;
  /** Online: seq_num of the receiver's last IMFilePullDataReq, put on the sender's answer (TeamTalk does so for its Mac client). */
  pullSeq = 0;
  /** Online: the receiver's pull is with the sender; the sender may answer once (unasked data would pile up in memory). */
  pullPending = false;

  constructor(
    readonly taskId: string,
    readonly mode: IM.BaseDefine.TransferFileType,
    readonly fromUserId: number,
    readonly toUserId: number,
    readonly fileName: string,
    readonly fileSize: number,
    now: number,
  ) {
    this.lastActive = now;
  }

  get online(): boolean {
    return this.mode === TransferFileType.FILE_TYPE_ONLINE;
  }

  touch(now: number): void {
    this.lastActive = now;
  }

  /**
   * TeamTalk's ChangePullState: may `userId` join in `role` now? Online: the
   * sender as REALTIME_SENDER, the receiver as REALTIME_RECVER, each once.
   * Offline: the sender uploads a new task, the receiver downloads a stored one.
   */
  admits(userId: number, role: IM.BaseDefine.ClientFileRole): boolean {
    if (this.online) {
      if (role === ClientFileRole.CLIENT_REALTIME_SENDER) return userId === this.fromUserId && this.sender === undefined && (this.state === 'ready' || this.state === 'waiting-sender');
      if (role === ClientFileRole.CLIENT_REALTIME_RECVER) return userId === this.toUserId && this.receiver === undefined && (this.state === 'ready' || this.state === 'waiting-receiver');
      return false;
    }
    if (role === ClientFileRole.CLIENT_OFFLINE_UPLOAD) return userId === this.fromUserId && this.state === 'ready';
    if (role === ClientFileRole.CLIENT_OFFLINE_DOWNLOAD) return userId === this.toUserId && this.state === 'downloading' && this.receiver === undefined;
    return false;
  }

  /** The other side of `peer`, if connected. */
  opponent(peer: TaskPeer): TaskPeer | undefined {
    return peer === this.sender ? this.receiver : this.sender;
  }
}
