// The protocol core of a TeamTalk client: one connection to a msg gateway
// (docs/PROTOCOL.md, docs/FLOWS.md §2-4, §12) over any byte pipe (transport.ts).
// Requests are matched to responses by seq_num; pushes (incoming messages,
// kicks) become events. Portable: no Node-only module or API, so the same code
// runs under Node (node-client.ts adds TCP/TLS/ws) and in browsers (browser.ts).
// 'events' is Node's own module under Node and the npm port of it in a bundle.
import { EventEmitter } from 'events';
import { FrameReader, encodeFrame, type Frame } from '@tiertalk/pdu';
import { CID, IM, isGroupMsgType, isSingleMsgType, nowSec, serviceIdOf } from '@tiertalk/proto';
import { SeenMessages } from './dedupe';
import { ClientError, isClientError, type ClientErrorCode } from './errors';
import { GroupRequests } from './group-requests';
import { md5hex } from './password';
import { messageReaders, recallMessage } from './recall-requests';
import { SeqAllocator } from './seq';
import type { ClientTlsOptions, Transport, TransportHandlers, TransportKind } from './transport';

export type ClientType = IM.BaseDefine.ClientType;
export const ClientType = IM.BaseDefine.ClientType;
export type UserStatType = IM.BaseDefine.UserStatType;
export type SessionType = IM.BaseDefine.SessionType;
export const SessionType = IM.BaseDefine.SessionType;

export interface ConnectOptions {
  host: string;
  port: number;
  /** 'ws' speaks to `ws://host:port/`; each binary message carries bytes of the PDU stream. Default 'tcp'. */
  transport?: TransportKind;
  /**
   * Connect with TLS (TeamTalk over TLS for 'tcp', `wss://` for 'ws'), verifying the
   * server's certificate; `true` trusts the system's CAs. Use the gateway's TLS port
   * (`GatewayChoice.tlsPort`).
   */
  tls?: boolean | ClientTlsOptions;
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
  /** TCP only: the local address to connect from (tests: 127.0.0.x as distinct clients). */
  localAddress?: string;
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
  body: Uint8Array;
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
  /** docs/FLOWS.md §6: this user read a session on another device (user_id = me, session_id = the peer or group). */
  readNotify: [notify: IM.Message.IMMsgDataReadNotify];
  /** docs/FLOWS.md §8: this user removed a session on another device. */
  removeSessionNotify: [notify: IM.Buddy.IMRemoveSessionNotify];
  /** docs/FLOWS.md §5: a user's PC client went online or offline (sent to PC clients only). */
  userStatus: [notify: IM.Buddy.IMUserStatNotify];
  /** docs/FLOWS.md §5: whether this user has a PC client online (sent to mobile clients only). */
  pcLoginStatus: [notify: IM.Buddy.IMPCLoginStatusNotify];
  /** docs/FLOWS.md §9: someone changed their signature (sent to every connection). */
  signInfoChanged: [notify: IM.Buddy.IMSignInfoChangedNotify];
  /** docs/PROTOCOL.md §2.7: an opaque peer-to-peer command ("typing", shake, ...). */
  p2p: [cmd: IM.SwitchService.IMP2PCmdMsg];
  /** docs/FLOWS.md §10.4: members were added to or removed from a group I am (or was) in. */
  groupChangeMember: [notify: IM.Group.IMGroupChangeMemberNotify];
  /** TierTalk extension: quit, dismiss, kick, admin or mute change in a group I am (or was) in. */
  groupAdmin: [notify: IM.Group.IMGroupAdminNotify];
  /** TierTalk extension (docs/PROTOCOL.md §6): a message of a session I am in was recalled by its sender. */
  recalled: [notify: IM.Message.IMMsgRecallNotify];
  /** TierTalk extension: the 1:1 peer read my messages up to msg_id. */
  readReceipt: [notify: IM.Message.IMMsgReadReceiptNotify];
  /** Every frame received, before it is handled. */
  pdu: [pdu: PduEvent];
  close: [info: CloseInfo];
  /** Fatal problems only (broken framing, transport failure, dead heartbeat); the client is closed right after. */
  error: [err: ClientError];
};

interface Pending {
  expect: number;
  /** A response in several frames: true while this frame is not the last (it was taken). */
  more?(body: Uint8Array): boolean;
  resolve(body: Uint8Array): void;
  reject(err: ClientError): void;
}

/** Per-call options of the typed requests. */
export interface RequestOptions {
  /** Default: the client's requestTimeoutMs. */
  timeoutMs?: number;
}

/** TeamTalk clients page history 20 at a time. */
export const DEFAULT_PAGE_SIZE = 20;

/** The dedupe key of a session: the peer user (u) or the group (g). */
function sessionKey(sessionType: SessionType, sessionId: number): string {
  return sessionType === IM.BaseDefine.SessionType.SESSION_TYPE_GROUP ? `g${sessionId}` : `u${sessionId}`;
}

function refusedUnlessZero<T>(what: string, resultCode: number, res: T): T {
  if (resultCode !== 0) throw new ClientError('REQUEST_REFUSED', `${what} refused: result_code ${resultCode}`, { resultCode });
  return res;
}

/**
 * The gateway answers IMMsgDataAck{msg_id = 0} (TeamTalk's "not stored" id)
 * for a message over its per-connection rate limit (docs/FLOWS.md §3), one that
 * storage rejected, or one not stored within its deadline; the message was
 * neither stored nor delivered.
 */
function throwIfNotStored(ack: IM.Message.IMMsgDataAck, toSessionId: number): void {
  if (ack.msgId === 0) throw new ClientError('NOT_STORED', `message to ${toSessionId} refused by the server (msg_id 0: rate limit, rejected, or not stored in time); not stored`);
}

interface CallOptions {
  timeoutMs?: number;
  timeoutCode?: ClientErrorCode;
  /** See Pending.more. */
  more?(body: Uint8Array): boolean;
}

const DEFAULT_HEARTBEAT_MS = 30_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;
// A seq that timed out is not reused for this long, so a late response cannot
// be taken for the answer to a newer request.
const RETIRE_MS = 60_000;
const EMPTY = new Uint8Array(0);

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`${name} must be a non-negative number, got ${String(v)}`);
  return n;
}

/** Opens the byte pipe a client runs over, handing it the client's handlers. */
export type TransportOpener = (handlers: TransportHandlers) => Promise<Transport>;

/** What the core needs to know of where it is connected (for its fields and messages). */
export interface Endpoint {
  host: string;
  port: number;
  transportKind: TransportKind;
  secure: boolean;
}

/** ConnectOptions without the Node transport's own settings: what any transport's client takes. */
export type ClientOptions = Omit<ConnectOptions, 'host' | 'port' | 'transport' | 'tls' | 'localAddress' | 'connectTimeoutMs'>;

const textEncoder = new TextEncoder();

/** UTF-8 bytes of a string (TextEncoder: a Buffer-free encoding that runs everywhere). */
export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

export class TeamTalkClientCore extends EventEmitter<TeamTalkClientEvents> {
  readonly host: string;
  readonly port: number;
  readonly transportKind: TransportKind;
  /** Connected with TLS (certificate verified). */
  readonly secure: boolean;
  /** Resolves once the client is closed, whatever the reason. */
  readonly closed: Promise<void>;
  /** Group commands (docs/FLOWS.md §10) and TierTalk's group administration. */
  readonly groups: GroupRequests;

  private readonly heartbeatMs: number;
  private readonly requestTimeoutMs: number;
  private readonly suppressDuplicates: boolean;
  private readonly maxQueuedBytes: number;
  private readonly reader: FrameReader<Uint8Array>;
  private readonly seen: SeenMessages;
  private readonly seqs = new SeqAllocator();
  private readonly pending = new Map<number, Pending>();
  private readonly retired = new Map<number, number>();
  private readonly pushHandlers: ReadonlyMap<number, (frame: Frame<Uint8Array>) => void>;
  private transport: Transport | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private resolveClosed: () => void = () => undefined;
  private isClosedFlag = false;
  private loginState: 'none' | 'pending' | 'done' = 'none';
  private self: LoginResult | undefined;

  protected constructor(opts: ClientOptions, endpoint: Endpoint) {
    super();
    this.host = endpoint.host;
    this.port = endpoint.port;
    this.transportKind = endpoint.transportKind;
    this.secure = endpoint.secure;
    this.heartbeatMs = nonNegative('heartbeatMs', opts.heartbeatMs, DEFAULT_HEARTBEAT_MS);
    this.requestTimeoutMs = nonNegative('requestTimeoutMs', opts.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
    this.maxQueuedBytes = nonNegative('maxQueuedBytes', opts.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES);
    this.suppressDuplicates = opts.suppressDuplicates ?? true;
    this.reader = new FrameReader<Uint8Array>(opts.maxFrameBytes === undefined ? {} : { maxFrameBytes: opts.maxFrameBytes });
    this.seen = new SeenMessages({ perSession: opts.dedupeWindow });
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.pushHandlers = new Map<number, (frame: Frame<Uint8Array>) => void>([
      [CID.CID_MSG_DATA, (f) => this.onMsgData(f)],
      [CID.CID_LOGIN_KICK_USER, (f) => this.onKick(f)],
      [CID.CID_MSG_READ_NOTIFY, (f) => this.onNotify(f, IM.Message.IMMsgDataReadNotify.decode, (n) => this.emit('readNotify', n))],
      [CID.CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY, (f) => this.onNotify(f, IM.Buddy.IMRemoveSessionNotify.decode, (n) => this.emit('removeSessionNotify', n))],
      [CID.CID_BUDDY_LIST_STATUS_NOTIFY, (f) => this.onNotify(f, IM.Buddy.IMUserStatNotify.decode, (n) => this.emit('userStatus', n))],
      [CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, (f) => this.onNotify(f, IM.Buddy.IMPCLoginStatusNotify.decode, (n) => this.emit('pcLoginStatus', n))],
      [CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, (f) => this.onNotify(f, IM.Buddy.IMSignInfoChangedNotify.decode, (n) => this.emit('signInfoChanged', n))],
      [CID.CID_SWITCH_P2P_CMD, (f) => this.onNotify(f, IM.SwitchService.IMP2PCmdMsg.decode, (n) => this.emit('p2p', n))],
      [CID.CID_GROUP_CHANGE_MEMBER_NOTIFY, (f) => this.onNotify(f, IM.Group.IMGroupChangeMemberNotify.decode, (n) => this.emit('groupChangeMember', n))],
      [CID.CID_GROUP_ADMIN_NOTIFY, (f) => this.onNotify(f, IM.Group.IMGroupAdminNotify.decode, (n) => this.emit('groupAdmin', n))],
      [CID.CID_MSG_RECALL_NOTIFY, (f) => this.onNotify(f, IM.Message.IMMsgRecallNotify.decode, (n) => this.emit('recalled', n))],
      [CID.CID_MSG_READ_RECEIPT_NOTIFY, (f) => this.onNotify(f, IM.Message.IMMsgReadReceiptNotify.decode, (n) => this.emit('readReceipt', n))],
    ]);
    this.groups = new GroupRequests({
      request: (commandId, body, expectCommandId, decode, opts) => this.request(commandId, body, expectCommandId, decode, opts),
      requireUserId: (what) => this.requireLogin(what),
      sendGroupMsgData: (what, groupId, msgType, msgData, opts) => this.sendMsgData(what, groupId, msgType, msgData, opts),
    });
  }

  /** A client over any transport (browser.ts: a WebSocket); open, not logged in. Rejects with the opener's error. */
  static async open(open: TransportOpener, endpoint: Endpoint, opts: ClientOptions = {}): Promise<TeamTalkClientCore> {
    const client = new TeamTalkClientCore(opts, endpoint);
    await client.attach(open);
    return client;
  }

  /** Opens the transport and starts the heartbeat; once, right after construction. */
  protected async attach(open: TransportOpener): Promise<void> {
    this.transport = await open({ data: (chunk) => this.onData(chunk), closed: (err) => this.onTransportClosed(err) });
    if (this.heartbeatMs > 0) {
      this.heartbeatTimer = setInterval(() => this.autoHeartbeat(), this.heartbeatMs);
      // Under Node the socket keeps the process alive while open; the timer alone must not.
      const timer = this.heartbeatTimer as { unref?: () => void };
      timer.unref?.();
    }
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
   * docs/FLOWS.md §2. TeamTalk clients send md5hex(plain) as `password`; the server
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
   * docs/FLOWS.md §4: sends a 1:1 text IMMsgData and resolves on the IMMsgDataAck
   * carrying the same seq_num (sent only once the message is stored).
   */
  async sendText(toUserId: number, text: string | Uint8Array, opts: { timeoutMs?: number } = {}): Promise<SendResult> {
    const msgData = typeof text === 'string' ? utf8(text) : text;
    return this.sendMsgData('sendText', toUserId, IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, msgData, opts);
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
        ...(opts.more ? { more: opts.more } : {}),
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

  /** docs/FLOWS.md §3: the server echoes the heartbeat PDU unchanged. */
  async heartbeat(): Promise<void> {
    await this.request(CID.CID_OTHER_HEARTBEAT, EMPTY, CID.CID_OTHER_HEARTBEAT, () => undefined);
  }

  /** docs/FLOWS.md §12: IMLogoutReq → IMLogoutRsp, then the server closes the connection. */
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

  // ---- Issue 4: one-to-one work beyond sending text (docs/PROTOCOL.md §2.2-2.7, docs/FLOWS.md §5-9, §11) ----
  // user_id in a request is what the server overwrites with the connection's
  // user (docs/PROTOCOL.md §3); it is filled in anyway, as TeamTalk clients do.

  /** docs/FLOWS.md §7.1: unread counters of every session, each with its latest message. */
  async unreadCounts(opts: RequestOptions = {}): Promise<IM.Message.IMUnreadMsgCntRsp> {
    const userId = this.requireLogin('unreadCounts');
    const body = IM.Message.IMUnreadMsgCntReq.encode({ userId }).finish();
    return this.request(CID.CID_MSG_UNREAD_CNT_REQUEST, body, CID.CID_MSG_UNREAD_CNT_RESPONSE, (b) => IM.Message.IMUnreadMsgCntRsp.decode(b), opts);
  }

  /**
   * docs/FLOWS.md §7.2: one history page, newest first: up to `count` messages with
   * msg_id <= msgIdBegin (0 = from the latest). The messages count as shown:
   * a late live copy of one of them is a 'duplicate', not a 'message'.
   */
  async messageList(
    sessionType: SessionType,
    sessionId: number,
    msgIdBegin = 0,
    count = DEFAULT_PAGE_SIZE,
    opts: RequestOptions = {},
  ): Promise<IM.Message.IMGetMsgListRsp> {
    const userId = this.requireLogin('messageList');
    const body = IM.Message.IMGetMsgListReq.encode({ userId, sessionType, sessionId, msgIdBegin, msgCnt: count }).finish();
    const res = await this.request(CID.CID_MSG_LIST_REQUEST, body, CID.CID_MSG_LIST_RESPONSE, (b) => IM.Message.IMGetMsgListRsp.decode(b), opts);
    this.markShown(sessionType, sessionId, res.msgList);
    return res;
  }

  /** docs/FLOWS.md §7.3: the listed messages of a session (newest first, at most 100); they count as shown like messageList()'s. */
  async messagesById(sessionType: SessionType, sessionId: number, msgIds: readonly number[], opts: RequestOptions = {}): Promise<IM.Message.IMGetMsgByIdRsp> {
    const userId = this.requireLogin('messagesById');
    const body = IM.Message.IMGetMsgByIdReq.encode({ userId, sessionType, sessionId, msgIdList: [...msgIds] }).finish();
    const res = await this.request(CID.CID_MSG_GET_BY_MSG_ID_REQ, body, CID.CID_MSG_GET_BY_MSG_ID_RES, (b) => IM.Message.IMGetMsgByIdRsp.decode(b), opts);
    this.markShown(sessionType, sessionId, res.msgList);
    return res;
  }

  /** docs/FLOWS.md §7.3: the newest msg_id of a session, 0 when it has none. */
  async latestMsgId(sessionType: SessionType, sessionId: number, opts: RequestOptions = {}): Promise<number> {
    const userId = this.requireLogin('latestMsgId');
    const body = IM.Message.IMGetLatestMsgIdReq.encode({ userId, sessionType, sessionId }).finish();
    const res = await this.request(CID.CID_MSG_GET_LATEST_MSG_ID_REQ, body, CID.CID_MSG_GET_LATEST_MSG_ID_RSP, (b) => IM.Message.IMGetLatestMsgIdRsp.decode(b), opts);
    return res.latestMsgId;
  }

  /** docs/FLOWS.md §6: "I have read this session up to msgId". No reply; the user's other devices get 'readNotify'. */
  readAck(sessionType: SessionType, sessionId: number, msgId: number): void {
    const userId = this.requireLogin('readAck');
    this.sendUnanswered(CID.CID_MSG_READ_ACK, IM.Message.IMMsgDataReadAck.encode({ userId, sessionId, msgId, sessionType }).finish());
  }

  /**
   * TierTalk extension (docs/PROTOCOL.md §6): recalls my message `msgId` of a session
   * within the server's window. Rejects REQUEST_REFUSED with details.resultCode a
   * MsgRecallResult (2 no such message, 3 not mine, 4 window passed, 5 already recalled).
   */
  async recall(sessionType: SessionType, sessionId: number, msgId: number, opts: RequestOptions = {}): Promise<IM.Message.IMMsgRecallRsp> {
    return recallMessage({ request: (...a) => this.request(...a), requireUserId: (w) => this.requireLogin(w) }, sessionType, sessionId, msgId, opts);
  }

  /** TierTalk extension (docs/PROTOCOL.md §6): who has read my message `msgId` (read/unread counts and user ids). */
  async readers(sessionType: SessionType, sessionId: number, msgId: number, opts: RequestOptions = {}): Promise<IM.Message.IMMsgReadersRsp> {
    return messageReaders({ request: (...a) => this.request(...a), requireUserId: (w) => this.requireLogin(w) }, sessionType, sessionId, msgId, opts);
  }

  /** docs/FLOWS.md §8: sessions updated after `since` (UNIX seconds; 0 = all), newest first, at most 100. */
  async recentSessions(since = 0, opts: RequestOptions = {}): Promise<IM.Buddy.IMRecentContactSessionRsp> {
    const userId = this.requireLogin('recentSessions');
    const body = IM.Buddy.IMRecentContactSessionReq.encode({ userId, latestUpdateTime: since }).finish();
    return this.request(
      CID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST,
      body,
      CID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE,
      (b) => IM.Buddy.IMRecentContactSessionRsp.decode(b),
      opts,
    );
  }

  /** docs/FLOWS.md §8: removes a session from the recent list (and clears its unread). Rejects with REQUEST_REFUSED on result_code 1. */
  async removeSession(sessionType: SessionType, sessionId: number, opts: RequestOptions = {}): Promise<IM.Buddy.IMRemoveSessionRsp> {
    const userId = this.requireLogin('removeSession');
    const body = IM.Buddy.IMRemoveSessionReq.encode({ userId, sessionType, sessionId }).finish();
    const res = await this.request(CID.CID_BUDDY_LIST_REMOVE_SESSION_REQ, body, CID.CID_BUDDY_LIST_REMOVE_SESSION_RES, (b) => IM.Buddy.IMRemoveSessionRsp.decode(b), opts);
    return refusedUnlessZero('removeSession', res.resultCode, res);
  }

  /** docs/FLOWS.md §9: profiles of the listed users (unknown ids are left out). */
  async usersInfo(userIds: readonly number[], opts: RequestOptions = {}): Promise<IM.BaseDefine.UserInfo.$Properties[]> {
    const userId = this.requireLogin('usersInfo');
    const body = IM.Buddy.IMUsersInfoReq.encode({ userId, userIdList: [...userIds] }).finish();
    const res = await this.request(CID.CID_BUDDY_LIST_USER_INFO_REQUEST, body, CID.CID_BUDDY_LIST_USER_INFO_RESPONSE, (b) => IM.Buddy.IMUsersInfoRsp.decode(b), opts);
    return res.userInfoList;
  }

  /**
   * docs/FLOWS.md §9: the user directory changed since `since` (0 = everyone); latestUpdateTime is the next `since`.
   * A large directory comes in several frames with the request's seq_num: all but the last carry
   * latest_update_time 0 and some users (the last one's time is never 0 when it lists users);
   * they are merged into one answer here.
   */
  async allUsers(since = 0, opts: RequestOptions = {}): Promise<IM.Buddy.IMAllUserRsp> {
    const userId = this.requireLogin('allUsers');
    const body = IM.Buddy.IMAllUserReq.encode({ userId, latestUpdateTime: since }).finish();
    const earlier: IM.BaseDefine.UserInfo.$Properties[] = [];
    const more = (b: Uint8Array): boolean => {
      const part = IM.Buddy.IMAllUserRsp.decode(b);
      if (part.latestUpdateTime !== 0 || part.userList.length === 0) return false;
      earlier.push(...part.userList);
      return true;
    };
    const last = await this.request(CID.CID_BUDDY_LIST_ALL_USER_REQUEST, body, CID.CID_BUDDY_LIST_ALL_USER_RESPONSE, (b) => IM.Buddy.IMAllUserRsp.decode(b), {
      ...opts,
      more,
    });
    if (earlier.length > 0) last.userList = [...earlier, ...last.userList];
    return last;
  }

  /** docs/FLOWS.md §9: departments changed since `since` (0 = all). */
  async departments(since = 0, opts: RequestOptions = {}): Promise<IM.Buddy.IMDepartmentRsp> {
    const userId = this.requireLogin('departments');
    const body = IM.Buddy.IMDepartmentReq.encode({ userId, latestUpdateTime: since }).finish();
    return this.request(CID.CID_BUDDY_LIST_DEPARTMENT_REQUEST, body, CID.CID_BUDDY_LIST_DEPARTMENT_RESPONSE, (b) => IM.Buddy.IMDepartmentRsp.decode(b), opts);
  }

  /** docs/FLOWS.md §9: sets the signature (at most 128 bytes); everyone gets 'signInfoChanged'. Rejects with REQUEST_REFUSED on result_code 1. */
  async changeSignInfo(signInfo: string, opts: RequestOptions = {}): Promise<IM.Buddy.IMChangeSignInfoRsp> {
    const userId = this.requireLogin('changeSignInfo');
    const body = IM.Buddy.IMChangeSignInfoReq.encode({ userId, signInfo }).finish();
    const res = await this.request(
      CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST,
      body,
      CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE,
      (b) => IM.Buddy.IMChangeSignInfoRsp.decode(b),
      opts,
    );
    return refusedUnlessZero('changeSignInfo', res.resultCode, res);
  }

  /**
   * docs/FLOWS.md §9: sets the avatar URL. TeamTalk's own db-proxy never answers
   * this (REQUEST_TIMEOUT there); rejects with REQUEST_REFUSED on a non-zero result.
   */
  async changeAvatar(avatarUrl: string, opts: RequestOptions = {}): Promise<IM.Buddy.IMChangeAvatarRsp> {
    const userId = this.requireLogin('changeAvatar');
    const body = IM.Buddy.IMChangeAvatarReq.encode({ userId, avatarUrl }).finish();
    const res = await this.request(CID.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST, body, CID.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE, (b) => IM.Buddy.IMChangeAvatarRsp.decode(b), opts);
    return refusedUnlessZero('changeAvatar', res.resultCode, res);
  }

  /** docs/FLOWS.md §5: one status per requested id, same order (ONLINE iff a PC client is on). */
  async usersStatus(userIds: readonly number[], opts: RequestOptions = {}): Promise<IM.BaseDefine.UserStat.$Properties[]> {
    const userId = this.requireLogin('usersStatus');
    const body = IM.Buddy.IMUsersStatReq.encode({ userId, userIdList: [...userIds] }).finish();
    const res = await this.request(
      CID.CID_BUDDY_LIST_USERS_STATUS_REQUEST,
      body,
      CID.CID_BUDDY_LIST_USERS_STATUS_RESPONSE,
      (b) => IM.Buddy.IMUsersStatRsp.decode(b),
      opts,
    );
    return res.userStatList;
  }

  /** docs/FLOWS.md §11: registers the mobile push token. Mobile clients only: a PC login gets no answer (REQUEST_TIMEOUT). */
  async deviceToken(token: string, opts: RequestOptions = {}): Promise<IM.Login.IMDeviceTokenRsp> {
    const userId = this.requireLogin('deviceToken');
    const body = IM.Login.IMDeviceTokenReq.encode({ userId, deviceToken: token }).finish();
    return this.request(CID.CID_LOGIN_REQ_DEVICETOKEN, body, CID.CID_LOGIN_RES_DEVICETOKEN, (b) => IM.Login.IMDeviceTokenRsp.decode(b), opts);
  }

  /** docs/FLOWS.md §11: "do not disturb" for mobile push on or off. Rejects with REQUEST_REFUSED on result_code 1. */
  async pushShield(on: boolean, opts: RequestOptions = {}): Promise<IM.Login.IMPushShieldRsp> {
    const userId = this.requireLogin('pushShield');
    const body = IM.Login.IMPushShieldReq.encode({ userId, shieldStatus: on ? 1 : 0 }).finish();
    const res = await this.request(CID.CID_LOGIN_REQ_PUSH_SHIELD, body, CID.CID_LOGIN_RES_PUSH_SHIELD, (b) => IM.Login.IMPushShieldRsp.decode(b), opts);
    return refusedUnlessZero('pushShield', res.resultCode, res);
  }

  /** docs/FLOWS.md §11: the "do not disturb" flag (shieldStatus 1 = on). Rejects with REQUEST_REFUSED on result_code 1. */
  async queryPushShield(opts: RequestOptions = {}): Promise<IM.Login.IMQueryPushShieldRsp> {
    const userId = this.requireLogin('queryPushShield');
    const body = IM.Login.IMQueryPushShieldReq.encode({ userId }).finish();
    const res = await this.request(
      CID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD,
      body,
      CID.CID_LOGIN_RES_QUERY_PUSH_SHIELD,
      (b) => IM.Login.IMQueryPushShieldRsp.decode(b),
      opts,
    );
    return refusedUnlessZero('queryPushShield', res.resultCode, res);
  }

  /** docs/FLOWS.md §11: a mobile client logs this user's PC client out (it gets a kick, reason MOBILE_KICK). Mobile clients only. */
  async kickPcClient(opts: RequestOptions = {}): Promise<IM.Login.IMKickPCClientRsp> {
    const userId = this.requireLogin('kickPcClient');
    const body = IM.Login.IMKickPCClientReq.encode({ userId }).finish();
    const res = await this.request(CID.CID_LOGIN_REQ_KICKPCCLIENT, body, CID.CID_LOGIN_RES_KICKPCCLIENT, (b) => IM.Login.IMKickPCClientRsp.decode(b), opts);
    return refusedUnlessZero('kickPcClient', res.resultCode, res);
  }

  /**
   * docs/FLOWS.md §4 step 3.4: a 1:1 voice message; msg_data is the duration as a
   * big-endian uint32 followed by the audio bytes. Resolves on its IMMsgDataAck.
   */
  async sendAudio(toUserId: number, durationSec: number, audio: Uint8Array, opts: { timeoutMs?: number } = {}): Promise<SendResult> {
    if (!Number.isInteger(durationSec) || durationSec < 0 || durationSec > 0xffffffff) {
      throw new RangeError(`durationSec must be a uint32, got ${String(durationSec)}`);
    }
    const msgData = new Uint8Array(4 + audio.byteLength);
    new DataView(msgData.buffer).setUint32(0, durationSec);
    msgData.set(audio, 4);
    return this.sendMsgData('sendAudio', toUserId, IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO, msgData, opts);
  }

  /** docs/PROTOCOL.md §2.7: an opaque command to all the peer's connections (and my other ones); relayed, never stored, no reply. */
  p2p(toUserId: number, cmdMsgData: string): void {
    const fromUserId = this.requireLogin('p2p');
    this.sendUnanswered(CID.CID_SWITCH_P2P_CMD, IM.SwitchService.IMP2PCmdMsg.encode({ fromUserId, toUserId, cmdMsgData }).finish());
  }

  private requireLogin(what: string): number {
    const self = this.self?.userId;
    if (self === undefined) throw new ClientError('BAD_STATE', `${what}() before login`);
    return self;
  }

  /** A request the server never answers (read ack, p2p): a fresh seq_num, nothing to wait for. */
  private sendUnanswered(commandId: number, body: Uint8Array): void {
    const seq = this.seqs.next((s) => this.seqInUse(s));
    if (seq === undefined) throw new ClientError('SEQ_EXHAUSTED', 'all 65535 seq numbers are waiting for a response');
    this.sendFrame(commandId, seq, body);
  }

  /** docs/FLOWS.md §4 / §10.2: IMMsgData to a user or group, resolved on its IMMsgDataAck; the stored id counts as shown on this device. */
  private async sendMsgData(what: string, toSessionId: number, msgType: IM.BaseDefine.MsgType, msgData: Uint8Array, opts: { timeoutMs?: number }): Promise<SendResult> {
    const fromUserId = this.requireLogin(what);
    const body = IM.Message.IMMsgData.encode({ fromUserId, toSessionId, msgId: 0, createTime: nowSec(), msgType, msgData }).finish();
    const started = performance.now();
    const ack = await this.request(CID.CID_MSG_DATA, body, CID.CID_MSG_DATA_ACK, (b) => IM.Message.IMMsgDataAck.decode(b), {
      timeoutMs: opts.timeoutMs,
      timeoutCode: 'ACK_TIMEOUT',
    });
    throwIfNotStored(ack, toSessionId);
    const sessionType = isGroupMsgType(msgType) ? IM.BaseDefine.SessionType.SESSION_TYPE_GROUP : IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;
    this.seen.add(sessionKey(sessionType, toSessionId), ack.msgId);
    return { msgId: ack.msgId, ackMs: performance.now() - started };
  }

  private markShown(sessionType: SessionType, sessionId: number, msgs: readonly IM.BaseDefine.MsgInfo.$Properties[]): void {
    const key = sessionKey(sessionType, sessionId);
    for (const m of msgs) if (m.msgId !== 0) this.seen.add(key, m.msgId);
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

  private onData(chunk: Uint8Array): void {
    let frames: Frame<Uint8Array>[];
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

  private onFrame(frame: Frame<Uint8Array>): void {
    this.emit('pdu', { commandId: frame.commandId, seqNum: frame.seqNum, body: frame.body });
    // Pushes carry seq 0, which requests never use (seq.ts).
    if (frame.seqNum !== 0) {
      const p = this.pending.get(frame.seqNum);
      if (p && p.expect === frame.commandId) {
        if (p.more?.(frame.body)) return;
        this.pending.delete(frame.seqNum);
        p.resolve(frame.body);
        return;
      }
    }
    this.pushHandlers.get(frame.commandId)?.(frame);
  }

  private onMsgData(frame: Frame<Uint8Array>): void {
    let msg: IM.Message.IMMsgData;
    try {
      msg = IM.Message.IMMsgData.decode(frame.body);
    } catch {
      // docs/PROTOCOL.md §1: an unparseable body is dropped; it is still visible as 'pdu'.
      return;
    }
    const self = this.self?.userId;
    // docs/FLOWS.md §4 step 5: the receiver acks every 1:1 delivery, duplicates included,
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
      ? sessionKey(IM.BaseDefine.SessionType.SESSION_TYPE_GROUP, msg.toSessionId)
      : sessionKey(IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE, msg.fromUserId === self ? msg.toSessionId : msg.fromUserId);
    const fresh = msg.msgId === 0 || this.seen.add(session, msg.msgId);
    if (!fresh) {
      this.emit('duplicate', msg);
      if (this.suppressDuplicates) return;
    }
    this.emit('message', msg);
  }

  /** A push other than a message or kick: decode and emit; an unparseable body is dropped (docs/PROTOCOL.md §1) and stays visible as 'pdu'. */
  private onNotify<T>(frame: Frame<Uint8Array>, decode: (body: Uint8Array) => T, emit: (decoded: T) => void): void {
    let decoded: T;
    try {
      decoded = decode(frame.body);
    } catch {
      return;
    }
    emit(decoded);
  }

  private onKick(frame: Frame<Uint8Array>): void {
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
