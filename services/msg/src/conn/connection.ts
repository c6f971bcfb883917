import { IM, serviceIdOf, isMobileClient, CID } from '@tiertalk/proto';
import { FrameError, FrameReader, encodeFrame } from '@tiertalk/pdu';
import type { Frame } from '@tiertalk/pdu';
import type { Logger } from '@tiertalk/log';
import type { ConnectionLimits } from '../config';
import type { AdmissionTicket } from './admission';
import { AwaitingAcks } from './awaiting-acks';
import { DeadlineWheel } from './deadline-wheel';
import type { DeadlineEntry } from './deadline-wheel';
import { RateLimiter } from './rate-limiter';
import type { Transport, TransportSink } from './transport';

export type ConnState = 'new' | 'authenticating' | 'open' | 'closed';

/** flush: send what is queued, then close (replies before a close must arrive). destroy: drop it. */
export type CloseMode = 'flush' | 'destroy';

export interface ConnectionHooks {
  onFrame(conn: Connection, frame: Frame): void;
  /** Once, synchronously inside close(). */
  onClose(conn: Connection, reason: string): void;
  /** A frame-level refusal (bad framing, inbound queue overflow): counted, logged once per offender. */
  onRefused?(conn: Connection, reason: string, detail: Record<string, unknown>): void;
}

// TeamTalk leaves a kicked client open until it disconnects; we give the kick
// PDU a moment to arrive, then close.
export const KICK_CLOSE_DELAY_MS = 1000;
// After a flushing close, a peer that does not read is cut off.
const END_GRACE_MS = 2000;
const AWAITING_ACK_MAX = 1024;
// Resolution of every connection timeout: they fire up to this late.
const DEADLINE_TICK_MS = 100;

/** The gateway's one sweep over all connections' deadlines (no timer per connection). */
export const connectionDeadlines = new DeadlineWheel(DEADLINE_TICK_MS);

let lastId = 0;
/** u32 connection ids, unique within this process (0 is never used: it means "none" on the wire). */
function nextConnId(): number {
  lastId = lastId >= 0xffff_ffff ? 1 : lastId + 1;
  return lastId;
}

/**
 * One client connection over TCP or WebSocket (goim server_tcp.go, aedes
 * client.js): frames in through one FrameReader, state new → authenticating →
 * open → closed, login/idle/drain/kick deadlines on the shared wheel, bounded
 * outbound queue, one idempotent close path.
 *
 * Issue 13: an idle connection holds only its own fields; its logger, rate
 * limiter, awaiting-ack list and queues exist only while in use.
 */
export class Connection implements TransportSink, DeadlineEntry {
  readonly id = nextConnId();
  readonly connectedAt = Date.now();
  private rate: RateLimiter | undefined;
  private acks: AwaitingAcks | undefined;

  private st: ConnState = 'new';
  private uid = 0;
  private ctype = 0;
  private status: IM.BaseDefine.UserStatType = IM.BaseDefine.UserStatType.USER_STATUS_ONLINE;
  private wasOpen = false;
  private isKicked = false;

  private readonly reader: FrameReader;
  private lastRecvAt = Date.now();
  // Absolute times (Date.now() scale), 0 = not armed. The wheel holds the
  // connection once, at the earliest of them and the idle deadline.
  private loginDeadline: number;
  private drainDeadline = 0;
  private kickDeadline = 0;
  wheelTick = 0;

  // Outbound: while the transport is blocked, frames wait here (bounded).
  private blocked = false;
  private queue: Buffer[] | undefined;
  private queuedBytes = 0;

  // Inbound: decoded frames wait here while maxInFlight requests are running
  // (one 64 KiB read can hold thousands of frames); the socket is paused meanwhile.
  private inbound: Frame[] | undefined;
  private inboundHead = 0;
  private inFlight = 0;
  private pumping = false;
  private paused = false;

  constructor(
    readonly transport: Transport,
    private readonly limits: ConnectionLimits,
    private readonly hooks: ConnectionHooks,
    private readonly baseLog: Logger,
    private readonly ticket?: AdmissionTicket,
  ) {
    // A few KiB until the login succeeded: a stranger cannot make us buffer a 1 MiB frame.
    this.reader = new FrameReader({ maxFrameBytes: Math.min(limits.preLoginMaxFrameBytes, limits.maxFrameBytes) });
    // A WebSocket message may hold a frame plus a few small ones behind it (as the server's maxPayload).
    transport.setMaxMessageBytes?.(2 * Math.min(limits.preLoginMaxFrameBytes, limits.maxFrameBytes));
    // docs/FLOWS.md §2: closed when login has not completed within 15 s of connecting.
    this.loginDeadline = this.connectedAt + limits.loginTimeoutMs;
    this.rearm();
    transport.attach(this);
  }

  /**
   * This connection's logger (connId, userId once known), made on each use: a
   * pino child costs about half a KiB, and log lines per connection are few.
   * Callers use it at once rather than keep it.
   */
  get log(): Logger {
    return this.baseLog.child(this.uid === 0 ? { connId: this.id } : { connId: this.id, userId: this.uid });
  }

  /** IMMsgData per second (created on the first message). */
  get msgRate(): RateLimiter {
    return (this.rate ??= new RateLimiter(this.limits.msgRatePerSec));
  }

  /** Deliveries not yet acknowledged (created on the first delivery). */
  get awaiting(): AwaitingAcks {
    return (this.acks ??= new AwaitingAcks(AWAITING_ACK_MAX));
  }

  /** How many deliveries await an ack, without creating the list. */
  get awaitingCount(): number {
    return this.acks?.size ?? 0;
  }

  get state(): ConnState {
    return this.st;
  }
  get userId(): number {
    return this.uid;
  }
  get clientType(): number {
    return this.ctype;
  }
  get onlineStatus(): IM.BaseDefine.UserStatType {
    return this.status;
  }
  get isOpen(): boolean {
    return this.st === 'open';
  }
  get isClosed(): boolean {
    return this.st === 'closed';
  }
  /** Was logged in at some point (also after close): close processing needs it. */
  get loggedIn(): boolean {
    return this.wasOpen;
  }
  get kicked(): boolean {
    return this.isKicked;
  }
  /** Logged in, not being kicked: may receive pushed PDUs. */
  get deliverable(): boolean {
    return this.st === 'open' && !this.isKicked;
  }
  get outboundBytes(): number {
    return this.queuedBytes + this.transport.bufferedBytes;
  }
  /** Requests dispatched and not finished. */
  get requestsInFlight(): number {
    return this.inFlight;
  }
  /** Who a refusal is logged against: the user once known, else the client address. */
  get offender(): string {
    if (this.uid !== 0) return `user:${this.uid}`;
    return this.ticket?.ipKey ?? hostOf(this.transport.remoteAddress);
  }

  // ---- state transitions (the login handler drives them) --------------------

  /** new → authenticating; false when a login was already received (docs/FLOWS.md §2: ignored). */
  beginLogin(clientType: number, onlineStatus: IM.BaseDefine.UserStatType): boolean {
    if (this.st !== 'new') return false;
    this.st = 'authenticating';
    this.ctype = clientType;
    this.status = onlineStatus;
    return true;
  }

  /** Set by ConnectionRegistry.bindUser only. */
  assignUser(userId: number): void {
    this.uid = userId;
  }

  /** authenticating → open: stops the login timer. */
  markOpen(): boolean {
    if (this.st !== 'authenticating') return false;
    this.st = 'open';
    this.wasOpen = true;
    this.loginDeadline = 0;
    this.rearm();
    this.reader.setMaxFrameBytes(this.limits.maxFrameBytes);
    this.transport.setMaxMessageBytes?.(2 * this.limits.maxFrameBytes);
    this.ticket?.loggedIn();
    return true;
  }

  // ---- outbound -------------------------------------------------------------

  /** Writes one encoded PDU; false when the connection is closed or was just closed as too slow. */
  send(pdu: Buffer): boolean {
    if (this.st === 'closed') return false;
    if (!this.blocked) {
      if (!this.transport.write(pdu)) this.block();
      return true;
    }
    // aedes write.js: honour write() returning false, but never buffer without bound.
    if (this.outboundBytes + pdu.length > this.limits.maxOutboundBytes) {
      this.log.warn({ outboundBytes: this.outboundBytes, cap: this.limits.maxOutboundBytes }, 'slow client: outbound cap exceeded, closing');
      this.close('outbound cap exceeded', 'destroy');
      return false;
    }
    (this.queue ??= []).push(pdu);
    this.queuedBytes += pdu.length;
    return true;
  }

  /** Encodes and sends a PDU (service id from the command id, docs/PROTOCOL.md §2). */
  sendPdu(commandId: number, seqNum: number, body: Uint8Array): boolean {
    return this.send(encodeFrame(serviceIdOf(commandId), commandId, seqNum, body));
  }

  /**
   * docs/FLOWS.md §2 step 6.2 and the route's remote kick: IMKickUser, then close
   * shortly after (TeamTalk forgets to close). Idempotent; false if already kicked or closed.
   */
  kick(reason: IM.BaseDefine.KickReasonType): boolean {
    if (this.st === 'closed' || this.isKicked) return false;
    this.isKicked = true;
    this.sendPdu(CID.CID_LOGIN_KICK_USER, 0, IM.Login.IMKickUser.encode({ userId: this.uid, kickReason: reason }).finish());
    this.kickDeadline = Date.now() + KICK_CLOSE_DELAY_MS;
    this.rearm();
    this.log.info({ reason }, 'kicked');
    return true;
  }

  // ---- inbound backpressure ---------------------------------------------------

  /**
   * Counts a request waiting on upstream work. At maxInFlight the next frames
   * stay queued (and the socket paused) until one finishes.
   */
  trackWork(work: Promise<unknown>): void {
    this.inFlight += 1;
    const done = (): void => {
      this.inFlight -= 1;
      this.pump();
    };
    work.then(done, done);
  }

  /** Dispatches queued frames in order while fewer than maxInFlight requests run. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.inbound !== undefined && this.inboundHead < this.inbound.length && this.inFlight < this.limits.maxInFlight) {
        // A handler may have closed the connection (logout, refused login).
        if (this.st === 'closed') return;
        const frame = this.inbound[this.inboundHead];
        this.inboundHead += 1;
        this.hooks.onFrame(this, frame);
      }
    } finally {
      this.pumping = false;
    }
    if (this.inbound !== undefined) {
      if (this.inboundHead === this.inbound.length) {
        this.inbound = undefined;
        this.inboundHead = 0;
      } else if (this.inboundHead >= 1024) {
        this.inbound = this.inbound.slice(this.inboundHead);
        this.inboundHead = 0;
      }
    }
    this.updateReading();
  }

  /** Decoded frames not yet dispatched. */
  private get inboundWaiting(): number {
    return this.inbound === undefined ? 0 : this.inbound.length - this.inboundHead;
  }

  /** Reads only while nothing waits and a request slot is free. */
  private updateReading(): void {
    if (this.st === 'closed') return;
    const busy = this.inboundWaiting > 0 || this.inFlight >= this.limits.maxInFlight;
    if (busy && !this.paused) {
      this.paused = true;
      this.transport.pause();
    } else if (!busy && this.paused) {
      this.paused = false;
      this.transport.resume();
    }
  }

  // ---- close ------------------------------------------------------------------

  /** The one cleanup path; idempotent. */
  close(reason: string, mode: CloseMode = 'flush'): void {
    if (this.st === 'closed') return;
    this.st = 'closed';
    connectionDeadlines.cancel(this);
    this.loginDeadline = this.drainDeadline = this.kickDeadline = 0;
    if (mode === 'flush') {
      for (const pdu of this.queue ?? []) this.transport.write(pdu);
      this.transport.end(END_GRACE_MS);
    } else {
      this.transport.destroy();
    }
    this.queue = undefined;
    this.queuedBytes = 0;
    this.inbound = undefined;
    this.inboundHead = 0;
    this.ticket?.release();
    this.acks = undefined;
    if (this.baseLog.isLevelEnabled('debug')) this.log.debug({ reason, userId: this.uid }, 'connection closed');
    this.hooks.onClose(this, reason);
  }

  // ---- TransportSink --------------------------------------------------------------

  onData(chunk: Buffer): void {
    if (this.st === 'closed') return;
    // docs/FLOWS.md §3: any received bytes count as activity.
    this.lastRecvAt = Date.now();
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      if (err instanceof FrameError) {
        const reason = err.code === 'FRAME_TOO_LARGE' ? 'frame_too_large' : 'bad_framing';
        this.refuse(reason, { code: err.code, declaredLength: err.declaredLength, loggedIn: this.wasOpen });
      } else {
        this.log.error({ err }, 'frame reader failed, closing');
      }
      this.close('bad frame', 'destroy');
      return;
    }
    if (frames.length === 0) return;
    const waiting = this.inboundWaiting + frames.length;
    if (waiting > this.limits.inboundQueueMax) {
      this.refuse('inbound_queue_full', { frames: waiting, max: this.limits.inboundQueueMax });
      this.close('inbound queue full', 'destroy');
      return;
    }
    if (this.inbound === undefined) {
      this.inbound = frames;
      this.inboundHead = 0;
    } else {
      for (const frame of frames) this.inbound.push(frame);
    }
    this.pump();
  }

  onDrain(): void {
    if (this.st === 'closed' || !this.blocked) return;
    this.blocked = false;
    // Left on the wheel: the next onDeadline finds nothing due and moves on.
    this.drainDeadline = 0;
    while (this.queue !== undefined && this.queue.length > 0) {
      const pdu = this.queue.shift();
      if (pdu === undefined) break;
      this.queuedBytes -= pdu.length;
      if (!this.transport.write(pdu)) {
        this.block();
        return;
      }
    }
    this.queue = undefined;
  }

  onError(err: Error): void {
    // ws refuses a message over setMaxMessageBytes with this code.
    if ((err as { code?: unknown }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.refuse('frame_too_large', { transport: 'ws', loggedIn: this.wasOpen });
    if (this.baseLog.isLevelEnabled('debug')) this.log.debug({ err }, 'transport error');
    this.close('transport error', 'destroy');
  }

  onClose(): void {
    this.close('peer closed', 'destroy');
  }

  // ---- internals --------------------------------------------------------------------

  private refuse(reason: string, detail: Record<string, unknown>): void {
    if (this.hooks.onRefused) this.hooks.onRefused(this, reason, detail);
    else this.log.warn({ reason, ...detail }, 'refused');
  }

  private block(): void {
    this.blocked = true;
    if (this.drainDeadline !== 0) return;
    // aedes drain timeout: a client that does not read for this long is dropped.
    this.drainDeadline = Date.now() + this.limits.drainTimeoutMs;
    this.rearm();
  }

  private idleTimeoutMs(): number {
    // Before login the type is unknown (0 = PC class); the login timeout is shorter anyway.
    return isMobileClient(this.ctype) ? this.limits.mobileIdleTimeoutMs : this.limits.pcIdleTimeoutMs;
  }

  /** Idle is checked lazily: received bytes only stamp lastRecvAt. */
  private idleDeadline(): number {
    return this.lastRecvAt + this.idleTimeoutMs();
  }

  /** Puts the connection on the wheel at its earliest armed deadline. */
  private rearm(): void {
    connectionDeadlines.schedule(this, earlierArmed(earlierArmed(earlierArmed(this.idleDeadline(), this.loginDeadline), this.drainDeadline), this.kickDeadline));
  }

  /** DeadlineEntry: the earliest due deadline closes the connection; else wait for the next. */
  onDeadline(now: number): void {
    if (this.st === 'closed') return;
    const due = (d: number): boolean => d !== 0 && d <= now;
    const idleAt = this.idleDeadline();
    let first = Infinity;
    for (const d of [this.loginDeadline, this.drainDeadline, this.kickDeadline, idleAt]) if (due(d) && d < first) first = d;
    if (first === Infinity) {
      this.rearm();
    } else if (first === this.loginDeadline) {
      this.close('login timeout', 'destroy');
    } else if (first === this.drainDeadline) {
      this.log.warn({ outboundBytes: this.outboundBytes }, 'slow client: drain timeout, closing');
      this.close('drain timeout', 'destroy');
    } else if (first === this.kickDeadline) {
      this.close('kicked', 'flush');
    } else {
      this.log.info({ idleMs: now - this.lastRecvAt }, 'idle timeout, closing');
      this.close('idle timeout', 'destroy');
    }
  }
}

/** The earlier of a and an armed deadline d (0 = not armed). */
function earlierArmed(a: number, d: number): number {
  return d !== 0 && d < a ? d : a;
}

/** "1.2.3.4:5678" or "::1:5678" → the host part. */
function hostOf(remoteAddress: string): string {
  const i = remoteAddress.lastIndexOf(':');
  return i > 0 ? remoteAddress.slice(0, i) : remoteAddress;
}
