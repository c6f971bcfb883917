import jws from 'jws';
import type { DeviceTarget, Notification } from '../notification';
import { errorReason, isTransientStatus, type PushProvider, type SendOutcome } from './provider';

/** The fields of a Google service account JSON key the provider uses. */
export interface ServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

export interface FcmOptions {
  serviceAccount: ServiceAccount;
  /** https://fcm.googleapis.com (tests: a local server). */
  url: string;
  timeoutMs: number;
  nowSec?: () => number;
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const ASSERTION_TTL_SEC = 3600;
// An access token is renewed this long before Google says it expires.
const RENEW_MARGIN_SEC = 300;

/** Reads and checks a service account key file's JSON; throws naming what is missing. */
export function parseServiceAccount(json: string): ServiceAccount {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new Error('the FCM service account key is not JSON');
  }
  const missing = ['project_id', 'client_email', 'private_key', 'token_uri'].filter((k) => typeof parsed[k] !== 'string' || parsed[k] === '');
  if (missing.length > 0) throw new Error(`the FCM service account key lacks ${missing.join(', ')}`);
  return parsed as unknown as ServiceAccount;
}

/**
 * FCM HTTP v1: an OAuth2 access token obtained by exchanging a service
 * account JWT (RS256, the jwt-bearer grant) at the account's token_uri, kept
 * until shortly before it expires, then one POST
 * /v1/projects/<project>/messages:send per notification.
 */
export class FcmProvider implements PushProvider {
  readonly name = 'fcm';
  private access: { token: string; expiresAt: number } | undefined;
  private fetching: Promise<string> | undefined;
  private readonly nowSec: () => number;

  constructor(private readonly opts: FcmOptions) {
    this.nowSec = opts.nowSec ?? (() => Math.floor(Date.now() / 1000));
    // Fails at start-up on a key that cannot sign.
    this.assertion();
  }

  async send(target: DeviceTarget, n: Notification, signal: AbortSignal): Promise<SendOutcome> {
    let accessToken: string;
    try {
      accessToken = await this.accessToken(signal);
    } catch (err) {
      return err instanceof RefusedCredentials ? { kind: 'rejected', reason: err.message } : { kind: 'retry', reason: errorReason(err) };
    }
    const message = {
      token: target.token,
      notification: { body: n.body },
      data: n.data,
      android: { priority: 'high', collapse_key: n.threadId, notification: { notification_count: n.badge, tag: n.threadId } },
    };
    const url = `${this.opts.url.replace(/\/$/, '')}/v1/projects/${encodeURIComponent(this.opts.serviceAccount.project_id)}/messages:send`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message }),
        signal: AbortSignal.any([AbortSignal.timeout(this.opts.timeoutMs), signal]),
        redirect: 'error',
      });
      text = await res.text();
    } catch (err) {
      return { kind: 'retry', reason: errorReason(err) };
    }
    if (res.ok) return { kind: 'sent' };
    const code = errorCodeOf(text);
    const why = `FCM ${res.status} ${code}`.trim();
    if (code === 'UNREGISTERED' || (res.status === 404 && code === '')) return { kind: 'invalid-token', reason: why };
    if (res.status === 401) {
      this.access = undefined;
      return { kind: 'retry', reason: why };
    }
    return isTransientStatus(res.status) ? { kind: 'retry', reason: why } : { kind: 'rejected', reason: why };
  }

  close(): void {
    this.access = undefined;
  }

  private assertion(): string {
    const sa = this.opts.serviceAccount;
    const now = this.nowSec();
    const header: jws.Header = { alg: 'RS256', typ: 'JWT' };
    if (sa.private_key_id) header.kid = sa.private_key_id;
    return jws.sign({
      header,
      payload: { iss: sa.client_email, scope: SCOPE, aud: sa.token_uri, iat: now, exp: now + ASSERTION_TTL_SEC },
      privateKey: sa.private_key,
    });
  }

  /** One exchange at a time; concurrent sends share it. */
  private accessToken(signal: AbortSignal): Promise<string> {
    if (this.access && this.nowSec() < this.access.expiresAt - RENEW_MARGIN_SEC) return Promise.resolve(this.access.token);
    this.fetching ??= this.exchange(signal).finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  private async exchange(signal: AbortSignal): Promise<string> {
    const res = await fetch(this.opts.serviceAccount.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: this.assertion() }).toString(),
      signal: AbortSignal.any([AbortSignal.timeout(this.opts.timeoutMs), signal]),
      redirect: 'error',
    });
    const text = await res.text();
    if (!res.ok) {
      const why = `OAuth token endpoint ${res.status} ${text.slice(0, 200)}`;
      if (isTransientStatus(res.status)) throw new Error(why);
      throw new RefusedCredentials(why);
    }
    const body = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') throw new Error('OAuth token endpoint answered without access_token');
    const ttl = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    this.access = { token: body.access_token, expiresAt: this.nowSec() + ttl };
    return body.access_token;
  }
}

/** The token endpoint refused the service account: retrying will not help. */
class RefusedCredentials extends Error {}

/** FCM's error code: details[].errorCode (FcmError), else error.status. */
function errorCodeOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { status?: unknown; details?: Array<{ errorCode?: unknown }> } };
    const detail = body.error?.details?.find((d) => typeof d.errorCode === 'string')?.errorCode;
    if (typeof detail === 'string') return detail;
    return typeof body.error?.status === 'string' ? body.error.status : '';
  } catch {
    return '';
  }
}
