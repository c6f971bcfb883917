// A TeamTalk-protocol client: one connection to a msg gateway (protocol.md,
// flows.md §2-4, §12). Requests are matched to responses by seq_num; pushes
// (incoming messages, kicks) become events.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { FrameReader, encodeFrame, type Frame } from '@tiertalk/pdu';
import { CID, IM, isGroupMsgType, isSingleMsgType, serviceIdOf } from '@tiertalk/proto';
import { SeenMessages } from './dedupe';
import { ClientError, isClientError, type ClientErrorCode } from './errors';
import { md5hex } from './password';
import { SeqAllocator } from './seq';
import { openTransport, type Transport, type TransportKind } from './transport';

export type ClientType = IM.BaseDefine.ClientType;
export const ClientType = IM.BaseDefine.ClientType;
export type UserStatType = IM.BaseDefine.UserStatType;

export interface ConnectOptions {
  host: string;
  port: number;
  /** 'ws' speaks to `ws://host:port/`; each binary message carries bytes of the PDU stream. Default 'tcp'. */
  transport?: TransportKind;
  /** Interval of automatic CID_OTHER_HEARTBEAT; 0 = none. Default 30000 (TeamTalk's CLIENT_HEARTBEAT_INTERVAL). */
  heartbeatMs?: number;
  /** Default timeout of requests and message ACKs. Default 10000. */
  requestTimeoutMs?: number;
  /** Default 10000. */
  connectTimeoutMs?: number;
  /** Drop an incoming message whose (session, msg_id) was already emitted. Default true. */
  suppressDuplicates?: boolean;
  /** msg ids remembered per session for duplicate suppression. Default 1024. */
  dedupeWindow?: number;
  /** Largest PDU accepted from the server. Default 1 MiB (libs/pdu). */
  maxFrameBytes?: number;
  /** Close with WRITE_BUFFER_FULL when more than this many bytes wait to be sent. Default 16 MiB. */
  maxQueuedBytes?: number;
}

export interface LoginOptions {
  /** Default CLIENT_TYPE_WINDOWS. */
  clientType?: ClientType;
  /** Default USER_STATUS_ONLINE. */
  onlineStatus?: UserStatType;
  clientVersion?: string;
  /** The password argument is already the digest the server expects; send it verbatim. */
  passwordIsDigest?: boolean;
}

/** The decoded IMLoginRes of a successful login, with its user made non-optional. */
export type LoginResult = IM.Login.IMLoginRes & { userId: number; userInfo: IM.BaseDefine.UserInfo.$Properties };

export interface SendResult {
  /** The msg_id the server assigned (from IMMsgDataAck). */
  msgId: number;
  /** Time from writing the PDU to its ACK. */
  ackMs: number;
}

export interface PduEvent {
  commandId: number;
  seqNum: number;
  body: Buffer;
}

export interface CloseInfo {
  /** 'local': close()/logout timeout; 'peer': the server closed; 'error': see `error`. */
  by: 'local' | 'peer' | 'error';
  reason: string;
  error?: ClientError;
}

export type TeamTalkClientEvents = {
  /** An incoming IMMsgData (1:1 messages are ACKed to the server before this fires). */
  message: [msg: IM.Message.IMMsgData];
  /** An incoming IMMsgData whose (session, msg_id) was seen before; also emitted as 'message' when suppressDuplicates is off. */
  duplicate: [msg: IM.Message.IMMsgData];
  kick: [kick: IM.Login.IMKickUser];
  /** Every frame received, before it is handled. */
  pdu: [pdu: PduEvent];
  close: [info: CloseInfo];
  /** Fatal problems only (broken framing, transport failure, dead heartbeat); the client is closed right after. */
  error: [err: ClientError];
};

interface Pending {
  expect: number;
  resolve(body: Buffer): void;
  reject(err: ClientError): void;
}

interface CallOptions {
  timeoutMs?: number;
  timeoutCode?: ClientErrorCode;
}

const DEFAULT_HEARTBEAT_MS = 30_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;
// A seq that timed out is not reused for this long, so a late response cannot
// be taken for the answer to a newer request.
const RETIRE_MS = 60_000;
const EMPTY = new Uint8Array(0);

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`${name} must be a non-negative number, got ${String(v)}`);
  return n;
}

export class TeamTalkClient extends EventEmitter<TeamTalkClientEvents> {
  readonly host: string;
  readonly port: number;
  readonly transportKind: TransportKind;
  /** Resolves once the client is closed, whatever the reason. */
  readonly closed: Promise<void>;

  private readonly heartbeatMs: number;
  private readonly requestTimeoutMs: number;
  private readonly suppressDuplicates: boolean;
  private readonly maxQueuedBytes: number;
  private readonly reader: FrameReader;
  private readonly seen: SeenMessages;
  private readonly seqs = new SeqAllocator();
  private readonly pending = new Map<number, Pending>();
  private readonly retired = new Map<number, number>();
  private readonly pushHandlers: ReadonlyMap<number, (frame: Frame) => void>;
  private transport: Transport | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private resolveClosed: () => void = () => undefined;
  private isClosedFlag = false;
  private loginState: 'none' | 'pending' | 'done' = 'none';
  private self: LoginResult | undefined;

  private constructor(opts: ConnectOptions) {
    super();
    this.host = opts.host;
    this.port = opts.port;
    this.transportKind = opts.transport ?? 'tcp';
    this.heartbeatMs = nonNegative('heartbeatMs', opts.heartbeatMs, DEFAULT_HEARTBEAT_MS);
    this.requestTimeoutMs = nonNegative('requestTimeoutMs', opts.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
    this.maxQueuedBytes = nonNegative('maxQueuedBytes', opts.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES);
    this.suppressDuplicates = opts.suppressDuplicates ?? true;
    this.reader = new FrameReader(opts.maxFrameBytes === undefined ? {} : { maxFrameBytes: opts.maxFrameBytes });
    this.seen = new SeenMessages({ perSession: opts.dedupeWindow });
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.pushHandlers = new Map<number, (frame: Frame) => void>([
      [CID.CID_MSG_DATA, (f) => this.onMsgData(f)],
      [CID.CID_LOGIN_KICK_USER, (f) => this.onKick(f)],
    ]);
  }

  /** Opens the connection (no login yet). Rejects with ClientError CONNECT_FAILED. */
  static async connect(opts: ConnectOptions): Promise<TeamTalkClient> {
    const client = new TeamTalkClient(opts);
    const timeoutMs = nonNegative('connectTimeoutMs', opts.connectTimeoutMs, 10_000);
    client.transport = await openTransport(
      { kind: client.transportKind, host: opts.host, port: opts.port, timeoutMs },
      { data: (chunk) => client.onData(chunk), closed: (err) => client.onTransportClosed(err) },
    );
    if (client.heartbeatMs > 0) {
      client.heartbeatTimer = setInterval(() => client.autoHeartbeat(), client.heartbeatMs);
      // The socket keeps the process alive while open; the timer alone must not.
      client.heartbeatTimer.unref();
    }
    return client;
  }

  /** Own user id once logged in. */
  get userId(): number | undefined {
    return this.self?.userId;
  }

  get userInfo(): IM.BaseDefine.UserInfo.$Properties | undefined {
    return this.self?.userInfo;
  }

  get isClosed(): boolean {
    return this.isClosedFlag;
  }

  /** Requests waiting for their response (unACKed messages included). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Bytes written but not yet sent by the socket. */
  get queuedBytes(): number {
    return this.transport?.queuedBytes ?? 0;
  }

  /**
   * flows.md §2. TeamTalk clients send md5hex(plain) as `password`; the server
   * checks md5hex(that + salt). Rejects with LOGIN_REFUSED on a non-zero result.
   */
  async login(userName: string, password: string, opts: LoginOptions = {}): Promise<LoginResult> {
    if (this.loginState !== 'none') throw new ClientError('BAD_STATE', `login() already ${this.loginState === 'done' ? 'done' : 'in progress'}`);
    this.loginState = 'pending';
    try {
      const body = IM.Login.IMLoginReq.encode({
        userName,
        password: opts.passwordIsDigest ? password : md5hex(password),
        onlineStatus: opts.onlineStatus ?? IM.BaseDefine.UserStatType.USER_STATUS_ONLINE,
        clientType: opts.clientType ?? IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS,
        clientVersion: opts.clientVersion ?? 'tiertalk-client/0.1',
      }).finish();
      const res = await this.request(CID.CID_LOGIN_REQ_USERLOGIN, body, CID.CID_LOGIN_RES_USERLOGIN, (b) => IM.Login.IMLoginRes.decode(b));
      if (res.resultCode !== 0) {
        throw new ClientError('LOGIN_REFUSED', `login of ${userName} refused: ${res.resultCode} ${res.resultString}`, {
          resultCode: res.resultCode,
          resultString: res.resultString,
        });
      }
      const userInfo = res.userInfo;
      if (!userInfo) throw new ClientError('BAD_RESPONSE', 'IMLoginRes without user_info on success');
      const result: LoginResult = Object.assign(res, { userId: userInfo.userId, userInfo });
      this.self = result;
      this.loginState = 'done';
      return result;
    } catch (err) {
      this.loginState = 'none';
      throw err;
    }
  }

  /**
   * flows.md §4: sends a 1:1 text IMMsgData and resolves on the IMMsgDataAck
   * carrying the same seq_num (sent only once the message is stored).
   */
  async sendText(toUserId: number, text: string | Uint8Array, opts: { timeoutMs?: number } = {}): Promise<SendResult> {
    const from = this.self?.userId;
    if (from === undefined) throw new ClientError('BAD_STATE', 'sendText() before login');
    const body = IM.Message.IMMsgData.encode({
      fromUserId: from,
      toSessionId: toUserId,
      msgId: 0,
      createTime: nowSec(),
      msgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT,
      msgData: typeof text === 'string' ? Buffer.from(text, 'utf8') : text,
    }).finish();
    const started = performance.now();
    const ack = await this.request(CID.CID_MSG_DATA, body, CID.CID_MSG_DATA_ACK, (b) => IM.Message.IMMsgDataAck.decode(b), {
      timeoutMs: opts.timeoutMs,
      timeoutCode: 'ACK_TIMEOUT',
    });
    return { msgId: ack.msgId, ackMs: performance.now() - started };
  }

  /** Generic request/response: resolves with the first `expectCommandId` frame carrying the request's seq_num. */
  request<Res>(
    commandId: number,
    body: Uint8Array,
    expectCommandId: number,
    decode: (body: Uint8Array) => Res,
    opts: CallOptions = {},
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      if (this.isClosedFlag) {
        reject(new ClientError('CLOSED', 'client is closed'));
        return;
      }
      const seq = this.seqs.next((s) => this.seqInUse(s));
      if (seq === undefined) {
        reject(new ClientError('SEQ_EXHAUSTED', 'all 65535 seq numbers are waiting for a response'));
        return;
      }
      const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        this.retired.set(seq, Date.now() + RETIRE_MS);
        reject(new ClientError(opts.timeoutCode ?? 'REQUEST_TIMEOUT', `no response to 0x${commandId.toString(16)} seq ${seq} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, {
        expect: expectCommandId,
        resolve: (resBody) => {
          clearTimeout(timer);
          let decoded: Res;
          try {
            decoded = decode(resBody);
          } catch (err) {
            reject(new ClientError('BAD_RESPONSE', `undecodable response 0x${expectCommandId.toString(16)}`, { cause: err }));
            return;
          }
          resolve(decoded);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      try {
        this.write(encodeFrame(serviceIdOf(commandId), commandId, seq, body));
      } catch (err) {
        this.pending.delete(seq);
        clearTimeout(timer);
        reject(err);
      }
    });
  }

  /** flows.md §3: the server echoes the heartbeat PDU unchanged. */
  async heartbeat(): Promise<void> {
    await this.request(CID.CID_OTHER_HEARTBEAT, EMPTY, CID.CID_OTHER_HEARTBEAT, () => undefined);
  }

  /** flows.md §12: IMLogoutReq → IMLogoutRsp, then the server closes the connection. */
  async logout(): Promise<void> {
    await this.request(CID.CID_LOGIN_REQ_LOGINOUT, IM.Login.IMLogoutReq.encode({}).finish(), CID.CID_LOGIN_RES_LOGINOUT, (b) =>
      IM.Login.IMLogoutRsp.decode(b),
    );
    this.self = undefined;
    this.loginState = 'none';
    // Do not wait forever for a server that keeps the socket open.
    const timer = setTimeout(() => this.close('server did not close after logout'), this.requestTimeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  /** Writes raw bytes (tests of bad input). Throws ClientError CLOSED after close. */
  sendRaw(bytes: Uint8Array): void {
    this.write(bytes);
  }

  /** Writes one frame with a caller-chosen seq_num; no response tracking. */
  sendFrame(commandId: number, seqNum: number, body: Uint8Array): void {
    this.write(encodeFrame(serviceIdOf(commandId), commandId, seqNum, body));
  }

  /** Closes at once; pending requests reject with CLOSED. Idempotent. */
  close(reason = 'closed by client'): void {
    this.shutdown({ by: 'local', reason });
  }

  private write(bytes: Uint8Array): void {
    const t = this.transport;
    if (this.isClosedFlag || !t) throw new ClientError('CLOSED', 'client is closed');
    t.write(bytes);
    if (t.queuedBytes > this.maxQueuedBytes) {
      this.fail(new ClientError('WRITE_BUFFER_FULL', `${t.queuedBytes} bytes queued, the server does not read`));
    }
  }

  private seqInUse(seq: number): boolean {
    if (this.pending.has(seq)) return true;
    const until = this.retired.get(seq);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.retired.delete(seq);
    return false;
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.fail(new ClientError('FRAME_ERROR', `broken framing from ${this.host}:${this.port}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      return;
    }
    for (const frame of frames) {
      if (this.isClosedFlag) return;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Frame): void {
    this.emit('pdu', { commandId: frame.commandId, seqNum: frame.seqNum, body: frame.body });
    // Pushes carry seq 0, which requests never use (seq.ts).
    if (frame.seqNum !== 0) {
      const p = this.pending.get(frame.seqNum);
      if (p && p.expect === frame.commandId) {
        this.pending.delete(frame.seqNum);
        p.resolve(frame.body);
        return;
      }
    }
    this.pushHandlers.get(frame.commandId)?.(frame);
  }

  private onMsgData(frame: Frame): void {
    let msg: IM.Message.IMMsgData;
    try {
      msg = IM.Message.IMMsgData.decode(frame.body);
    } catch {
      // protocol.md §1: an unparseable body is dropped; it is still visible as 'pdu'.
      return;
    }
    const self = this.self?.userId;
    // flows.md §4 step 5: the receiver acks every 1:1 delivery, duplicates included,
    // so the gateway clears its awaiting-ack entry.
    if (self !== undefined && isSingleMsgType(msg.msgType) && !this.isClosedFlag) {
      const ack = IM.Message.IMMsgDataAck.encode({
        userId: self,
        sessionId: msg.fromUserId,
        msgId: msg.msgId,
        sessionType: IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE,
      }).finish();
      this.write(encodeFrame(serviceIdOf(CID.CID_MSG_DATA_ACK), CID.CID_MSG_DATA_ACK, 0, ack));
    }
    if (this.isClosedFlag) return;
    // The session is the peer (or group), so copies of my own messages sent from
    // another device share it with the peer's messages.
    const session = isGroupMsgType(msg.msgType)
      ? `g${msg.toSessionId}`
      : `u${msg.fromUserId === self ? msg.toSessionId : msg.fromUserId}`;
    const fresh = msg.msgId === 0 || this.seen.add(session, msg.msgId);
    if (!fresh) {
      this.emit('duplicate', msg);
      if (this.suppressDuplicates) return;
    }
    this.emit('message', msg);
  }

  private onKick(frame: Frame): void {
    let kick: IM.Login.IMKickUser;
    try {
      kick = IM.Login.IMKickUser.decode(frame.body);
    } catch {
      return;
    }
    this.emit('kick', kick);
  }

  private autoHeartbeat(): void {
    this.heartbeat().catch((err: unknown) => {
      if (isClientError(err, 'CLOSED')) return;
      this.fail(
        isClientError(err)
          ? new ClientError(err.code, `heartbeat failed: ${err.message}`, { cause: err })
          : new ClientError('TRANSPORT_ERROR', `heartbeat failed: ${String(err)}`, { cause: err }),
      );
    });
  }

  private onTransportClosed(err?: Error): void {
    if (err) {
      this.fail(isClientError(err) ? err : new ClientError('TRANSPORT_ERROR', err.message, { cause: err }));
    } else {
      this.shutdown({ by: 'peer', reason: 'connection closed by the server' });
    }
  }

  /** Fatal error: report it (only to listeners, so an unobserved client cannot crash the process) and close. */
  private fail(err: ClientError): void {
    if (this.isClosedFlag) return;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    this.shutdown({ by: 'error', reason: err.message, error: err });
  }

  /** The one cleanup path: timers, pending requests, socket, then 'close'. */
  private shutdown(info: CloseInfo): void {
    if (this.isClosedFlag) return;
    this.isClosedFlag = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.retired.clear();
    for (const p of pending) p.reject(new ClientError('CLOSED', `connection closed: ${info.reason}`, { cause: info.error }));
    this.transport?.destroy();
    this.emit('close', info);
    this.resolveClosed();
  }
}
