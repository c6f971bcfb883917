import https from 'node:https';
import webpush from 'web-push';
import type { DeviceTarget, Notification } from '../notification';
import { errorReason, isTransientStatus, type PushProvider, type SendOutcome } from './provider';

export interface WebPushOptions {
  publicKey: string;
  privateKey: string;
  /** mailto: or https: contact. */
  subject: string;
  timeoutMs: number;
  /** Extra trusted CA (PEM) for a local stand-in endpoint; real push services are checked against the system roots. */
  ca?: string;
}

/** A browser's PushSubscription (JSON) stored as the device token. */
export interface Subscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

// How long the push service keeps an undelivered notification (seconds).
const TTL_SEC = 24 * 3600;

/** A token that is a PushSubscription's JSON, or undefined (then it is an APNs/FCM token). */
export function subscriptionOf(token: string): Subscription | undefined {
  if (!token.startsWith('{')) return undefined;
  try {
    const s = JSON.parse(token) as Partial<Subscription>;
    if (typeof s.endpoint !== 'string' || !URL.canParse(s.endpoint) || typeof s.keys?.p256dh !== 'string' || typeof s.keys.auth !== 'string') return undefined;
    return { endpoint: s.endpoint, keys: { p256dh: s.keys.p256dh, auth: s.keys.auth } };
  } catch {
    return undefined;
  }
}

/** Web Push (RFC 8030) with VAPID (RFC 8292) and an aes128gcm-encrypted payload, by the web-push package. */
export class WebPushProvider implements PushProvider {
  readonly name = 'webpush';
  private readonly agent: https.Agent | undefined;

  constructor(private readonly opts: WebPushOptions) {
    this.agent = opts.ca === undefined ? undefined : new https.Agent({ ca: opts.ca, keepAlive: true });
    // Throws at start-up on keys or a subject web-push would refuse.
    webpush.setVapidDetails(opts.subject, opts.publicKey, opts.privateKey);
  }

  async send(target: DeviceTarget, n: Notification, signal: AbortSignal): Promise<SendOutcome> {
    const subscription = subscriptionOf(target.token);
    if (!subscription) return { kind: 'invalid-token', reason: 'not a Web Push subscription' };
    if (signal.aborted) return { kind: 'retry', reason: 'stopping' };
    const payload = JSON.stringify({ body: n.body, badge: n.badge, tag: n.threadId, data: n.data });
    try {
      await webpush.sendNotification(subscription, payload, {
        vapidDetails: { subject: this.opts.subject, publicKey: this.opts.publicKey, privateKey: this.opts.privateKey },
        TTL: TTL_SEC,
        urgency: 'high',
        topic: n.threadId,
        timeout: this.opts.timeoutMs,
        contentEncoding: 'aes128gcm',
        ...(this.agent ? { agent: this.agent } : {}),
      });
      return { kind: 'sent' };
    } catch (err) {
      if (err instanceof webpush.WebPushError) {
        const why = `Web Push ${err.statusCode} ${err.body.slice(0, 200)}`.trim();
        // 404 / 410: the subscription expired or was unsubscribed.
        if (err.statusCode === 404 || err.statusCode === 410) return { kind: 'invalid-token', reason: why };
        return isTransientStatus(err.statusCode) ? { kind: 'retry', reason: why } : { kind: 'rejected', reason: why };
      }
      return { kind: 'retry', reason: errorReason(err) };
    }
  }

  close(): void {
    this.agent?.destroy();
  }
}
