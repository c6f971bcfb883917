import { createHmac } from 'node:crypto';
import type { DeviceTarget, Notification } from '../notification';
import { errorReason, isTransientStatus, type PushProvider, type SendOutcome } from './provider';

export interface WebhookOptions {
  url: string;
  /** HMAC-SHA256 key; with it every POST is signed (x-tiertalk-signature). */
  secret?: string;
  timeoutMs: number;
}

/** The JSON document POSTed per notification; any 2xx accepts it, 410 says the token is dead. */
export interface WebhookEvent {
  type: 'message';
  userId: number;
  clientType: number;
  token: string;
  body: string;
  badge: number;
  data: Record<string, string>;
}

export const SIGNATURE_HEADER = 'x-tiertalk-signature';

/** The signature header's value for a body: `sha256=<hex HMAC-SHA256>`. */
export function signatureOf(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A generic JSON POST per notification, for a gateway of one's own (or a provider not built in). */
export class WebhookProvider implements PushProvider {
  readonly name = 'webhook';

  constructor(private readonly opts: WebhookOptions) {}

  async send(target: DeviceTarget, n: Notification, signal: AbortSignal): Promise<SendOutcome> {
    const event: WebhookEvent = { type: 'message', userId: target.userId, clientType: target.clientType, token: target.token, body: n.body, badge: n.badge, data: n.data };
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.secret !== undefined) headers[SIGNATURE_HEADER] = signatureOf(this.opts.secret, body);
    try {
      const res = await fetch(this.opts.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.opts.timeoutMs), signal]),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { kind: 'sent' };
      const why = `webhook HTTP ${res.status}`;
      if (res.status === 410) return { kind: 'invalid-token', reason: why };
      return isTransientStatus(res.status) ? { kind: 'retry', reason: why } : { kind: 'rejected', reason: why };
    } catch (err) {
      return { kind: 'retry', reason: errorReason(err) };
    }
  }

  close(): void {}
}
