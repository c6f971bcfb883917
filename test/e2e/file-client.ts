// A TeamTalk client's side of the file server: TCP, 16-byte-header PDUs (IM.File), as the stock client speaks it.
import net from 'node:net';
import { encodeFrame, FrameReader, type Frame } from '@tiertalk/pdu';
import { CID, IM, serviceIdOf } from '@tiertalk/proto';

const { ClientFileRole, ClientFileState, TransferFileType } = IM.BaseDefine;

export class FileClient {
  private readonly reader = new FrameReader({ maxFrameBytes: 8 * 1024 * 1024 });
  private readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  private seq = 1;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.reader.push(chunk)) this.frames.push(f);
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.wake();
      resolve();
    }));
  }

  static connect(port: number): Promise<FileClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new FileClient(s)));
      s.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  send(commandId: number, body: Uint8Array, seqNum = this.seq++): void {
    this.socket.write(encodeFrame(serviceIdOf(commandId), commandId, seqNum, body));
  }

  /** The next frame with this command id (others before it are dropped); rejects on close or timeout. */
  async next<T>(commandId: number, decode: (b: Uint8Array) => T, timeoutMs = 5000): Promise<T> {
    return decode((await this.nextFrame([commandId], timeoutMs)).body);
  }

  /** The next frame with one of these command ids (others before it are dropped). */
  async nextFrame(commandIds: readonly number[], timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => commandIds.includes(f.commandId));
      if (i >= 0) return this.frames.splice(0, i + 1)[i];
      const what = commandIds.map((c) => c.toString(16)).join('|');
      if (this.socket.destroyed) throw new Error(`file server closed the connection before command ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no command ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async login(userId: number, taskId: string, fileRole: IM.BaseDefine.ClientFileRole): Promise<IM.File.IMFileLoginRsp> {
    this.send(CID.CID_FILE_LOGIN_REQ, IM.File.IMFileLoginReq.encode({ userId, taskId, fileRole }).finish());
    return this.next(CID.CID_FILE_LOGIN_RES, (b) => IM.File.IMFileLoginRsp.decode(b));
  }

  /** Offline upload as the stock client does it: answer each of the server's pulls with that slice, until DONE. */
  async upload(userId: number, taskId: string, data: Buffer): Promise<IM.File.IMFileState> {
    const login = await this.login(userId, taskId, ClientFileRole.CLIENT_OFFLINE_UPLOAD);
    if (login.resultCode !== 0) throw new Error(`upload login refused (${login.resultCode})`);
    for (;;) {
      const f = await this.nextFrame([CID.CID_FILE_PULL_DATA_REQ, CID.CID_FILE_STATE]);
      if (f.commandId === CID.CID_FILE_STATE) return IM.File.IMFileState.decode(f.body);
      const { offset, dataSize } = IM.File.IMFilePullDataReq.decode(f.body);
      this.send(CID.CID_FILE_PULL_DATA_RSP, IM.File.IMFilePullDataRsp.encode({ resultCode: 0, taskId, userId, offset, fileData: data.subarray(offset, offset + dataSize) }).finish());
    }
  }

  /** Offline download: pull `chunk` bytes at a time until the file is complete, then expect DONE. */
  async download(userId: number, taskId: string, size: number, chunk = 65536): Promise<Buffer> {
    const login = await this.login(userId, taskId, ClientFileRole.CLIENT_OFFLINE_DOWNLOAD);
    if (login.resultCode !== 0) throw new Error(`download login refused (${login.resultCode})`);
    const parts: Buffer[] = [];
    let offset = 0;
    while (offset < size) {
      this.send(CID.CID_FILE_PULL_DATA_REQ, IM.File.IMFilePullDataReq.encode({ taskId, userId, transMode: TransferFileType.FILE_TYPE_OFFLINE, offset, dataSize: Math.min(chunk, size - offset) }).finish());
      const rsp = await this.next(CID.CID_FILE_PULL_DATA_RSP, (b) => IM.File.IMFilePullDataRsp.decode(b));
      if (rsp.resultCode !== 0 || rsp.offset !== offset) throw new Error(`pull at ${offset} failed (${rsp.resultCode})`);
      parts.push(Buffer.from(rsp.fileData));
      offset += rsp.fileData.length;
    }
    const done = await this.next(CID.CID_FILE_STATE, (b) => IM.File.IMFileState.decode(b));
    if (done.state !== ClientFileState.CLIENT_FILE_DONE) throw new Error(`download ended with state ${done.state}`);
    return Buffer.concat(parts);
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
