import http2 from 'node:http2';
import jws from 'jws';
import type { DeviceTarget, Notification } from '../notification';
import { errorReason, isTransientStatus, type PushProvider, type SendOutcome } from './provider';

export interface ApnsOptions {
  /** The .p8 key's PEM text (ES256). */
  key: string;
  keyId: string;
  teamId: string;
  /** The app's bundle id. */
  topic: string;
  /** https://api.push.apple.com or https://api.sandbox.push.apple.com (tests: a local HTTP/2 server). */
  url: string;
  timeoutMs: number;
  /** Extra trusted CA (PEM) for a local stand-in server; APNs itself is checked against the system roots. */
  ca?: string;
  /** Clock in seconds (tests). */
  nowSec?: () => number;
}

// Apple refuses a provider token older than an hour and throttles one renewed more often than every 20 minutes.
const TOKEN_TTL_SEC = 40 * 60;
// APNs reasons that say the token itself is dead (400 BadDeviceToken, 410 Unregistered, 400 DeviceTokenNotForTopic).
const DEAD_TOKEN_REASONS = new Set(['BadDeviceToken', 'Unregistered', 'DeviceTokenNotForTopic']);
// The provider token expired or was refused as stale: made again, then the send is retried.
const STALE_TOKEN_REASONS = new Set(['ExpiredProviderToken', 'InvalidProviderToken']);
const HEX_TOKEN = /^[0-9a-fA-F]{16,200}$/;

/**
 * APNs over HTTP/2 with token-based authentication: one long-lived HTTP/2
 * session (re-opened when it closes), a provider JWT (ES256, kid = key id,
 * iss = team id) made every 40 minutes, one POST /3/device/<token> per
 * notification.
 */
export class ApnsProvider implements PushProvider {
  readonly name = 'apns';
  private session: http2.ClientHttp2Session | undefined;
  private jwt: { value: string; madeAt: number } | undefined;
  private readonly nowSec: () => number;

  constructor(private readonly opts: ApnsOptions) {
    this.nowSec = opts.nowSec ?? (() => Math.floor(Date.now() / 1000));
    // Fails at start-up on a key that cannot sign, not on the first message.
    this.providerToken();
  }

  async send(target: DeviceTarget, n: Notification, signal: AbortSignal): Promise<SendOutcome> {
    if (!HEX_TOKEN.test(target.token)) return { kind: 'invalid-token', reason: 'not an APNs device token (hex)' };
    const body = JSON.stringify({
      aps: { alert: { body: n.body }, badge: n.badge, sound: 'default', 'thread-id': n.threadId },
      ...n.data,
    });
    let answer: { status: number; reason: string };
    try {
      answer = await this.post(target.token, body, signal);
    } catch (err) {
      return { kind: 'retry', reason: errorReason(err) };
    }
    const { status, reason } = answer;
    if (status === 200) return { kind: 'sent' };
    const why = `APNs ${status} ${reason}`.trim();
    if (DEAD_TOKEN_REASONS.has(reason) || status === 410) return { kind: 'invalid-token', reason: why };
    if (status === 403 && STALE_TOKEN_REASONS.has(reason)) {
      this.jwt = undefined;
      return { kind: 'retry', reason: why };
    }
    return isTransientStatus(status) ? { kind: 'retry', reason: why } : { kind: 'rejected', reason: why };
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private providerToken(): string {
    const now = this.nowSec();
    if (this.jwt && now - this.jwt.madeAt < TOKEN_TTL_SEC) return this.jwt.value;
    const value = jws.sign({
      header: { alg: 'ES256', kid: this.opts.keyId },
      payload: { iss: this.opts.teamId, iat: now },
      privateKey: this.opts.key,
    });
    this.jwt = { value, madeAt: now };
    return value;
  }

  private connection(): http2.ClientHttp2Session {
    const cur = this.session;
    if (cur && !cur.closed && !cur.destroyed) return cur;
    const session = http2.connect(this.opts.url, this.opts.ca === undefined ? {} : { ca: this.opts.ca });
    // A failed or closed session is replaced on the next send; its requests fail (and are retried).
    session.on('error', () => session.destroy());
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    session.on('goaway', () => session.close());
    session.unref();
    this.session = session;
    return session;
  }

  private post(token: string, body: string, signal: AbortSignal): Promise<{ status: number; reason: string }> {
    return new Promise((resolve, reject) => {
      const req = this.connection().request(
        {
          ':method': 'POST',
          ':path': `/3/device/${token}`,
          authorization: `bearer ${this.providerToken()}`,
          'apns-topic': this.opts.topic,
          'apns-push-type': 'alert',
          'apns-priority': '10',
          'content-type': 'application/json',
        },
        { signal },
      );
      req.setTimeout(this.opts.timeoutMs, () => req.close(http2.constants.NGHTTP2_CANCEL));
      let status = 0;
      const chunks: Buffer[] = [];
      req.on('response', (headers) => {
        status = Number(headers[':status'] ?? 0);
      });
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (status === 0) {
          reject(new Error('APNs stream closed without an answer'));
          return;
        }
        let reason = '';
        if (chunks.length > 0) {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { reason?: unknown };
            if (typeof parsed.reason === 'string') reason = parsed.reason;
          } catch {
            reason = 'unreadable answer';
          }
        }
        resolve({ status, reason });
      });
      req.on('error', reject);
      // Closed before 'end' (timeout, cancel, session lost): a no-op once settled.
      req.on('close', () => reject(new Error(`APNs request closed (code ${req.rstCode ?? 0})`)));
      req.end(body);
    });
  }
}
