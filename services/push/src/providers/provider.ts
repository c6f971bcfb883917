import type { DeviceTarget, Notification } from '../notification';

/**
 * What became of one send: delivered; worth another attempt (network, 429,
 * 5xx); the token is dead (the app was removed: cleared from db-proxy); or
 * refused for another reason (bad credentials, bad request: not retried).
 */
export type SendOutcome =
  | { kind: 'sent' }
  | { kind: 'retry'; reason: string }
  | { kind: 'invalid-token'; reason: string }
  | { kind: 'rejected'; reason: string };

export interface PushProvider {
  /** The metrics label: apns, fcm, webpush, webhook. */
  readonly name: string;
  send(target: DeviceTarget, notification: Notification, signal: AbortSignal): Promise<SendOutcome>;
  close(): void;
}

/** 408, 425, 429 and 5xx are the provider's temporary trouble. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

export function errorReason(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
