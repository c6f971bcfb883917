import { IM } from '@tiertalk/proto';
import type { PushConfig, ProviderChoice } from '../config';
import type { DeviceTarget } from '../notification';
import { ApnsProvider } from './apns';
import { FcmProvider, parseServiceAccount } from './fcm';
import type { PushProvider } from './provider';
import { WebPushProvider, subscriptionOf } from './web-push';
import { WebhookProvider } from './webhook';

const { ClientType } = IM.BaseDefine;

/**
 * Which provider a device token goes to: a token holding a Web Push
 * subscription (JSON) goes to Web Push; otherwise the client type's
 * configured provider (TT_PUSH_IOS_PROVIDER, TT_PUSH_ANDROID_PROVIDER).
 * `undefined`: none configured for it (counted as no_provider).
 */
export class ProviderSet {
  constructor(
    private readonly byName: ReadonlyMap<string, PushProvider>,
    private readonly ios: ProviderChoice,
    private readonly android: ProviderChoice,
  ) {}

  pick(target: DeviceTarget): PushProvider | undefined {
    if (subscriptionOf(target.token) !== undefined) return this.byName.get('webpush');
    const choice = target.clientType === ClientType.CLIENT_TYPE_IOS ? this.ios : target.clientType === ClientType.CLIENT_TYPE_ANDROID ? this.android : 'none';
    return choice === 'none' ? undefined : this.byName.get(choice);
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  close(): void {
    for (const p of this.byName.values()) p.close();
  }
}

/** The providers whose settings are complete; throws naming what is half-configured. */
export function providersFromConfig(config: PushConfig): ProviderSet {
  const providers = new Map<string, PushProvider>();
  const timeoutMs = config.TT_PUSH_TIMEOUT_MS;
  const apns = { key: config.TT_APNS_KEY, keyId: config.TT_APNS_KEY_ID, teamId: config.TT_APNS_TEAM_ID, topic: config.TT_APNS_TOPIC };
  if (complete('APNs', { TT_APNS_KEY: apns.key, TT_APNS_KEY_ID: apns.keyId, TT_APNS_TEAM_ID: apns.teamId, TT_APNS_TOPIC: apns.topic })) {
    providers.set('apns', new ApnsProvider({ key: apns.key!, keyId: apns.keyId!, teamId: apns.teamId!, topic: apns.topic!, url: config.TT_APNS_URL, timeoutMs }));
  }
  if (config.TT_FCM_SERVICE_ACCOUNT_KEY !== undefined) {
    providers.set('fcm', new FcmProvider({ serviceAccount: parseServiceAccount(config.TT_FCM_SERVICE_ACCOUNT_KEY), url: config.TT_FCM_URL, timeoutMs }));
  }
  const vapid = { TT_VAPID_PUBLIC_KEY: config.TT_VAPID_PUBLIC_KEY, TT_VAPID_PRIVATE_KEY: config.TT_VAPID_PRIVATE_KEY, TT_VAPID_SUBJECT: config.TT_VAPID_SUBJECT };
  if (complete('Web Push', vapid)) {
    providers.set('webpush', new WebPushProvider({ publicKey: vapid.TT_VAPID_PUBLIC_KEY!, privateKey: vapid.TT_VAPID_PRIVATE_KEY!, subject: vapid.TT_VAPID_SUBJECT!, timeoutMs }));
  }
  if (config.TT_WEBHOOK_URL !== undefined) {
    providers.set('webhook', new WebhookProvider({ url: config.TT_WEBHOOK_URL, secret: config.TT_WEBHOOK_SECRET, timeoutMs }));
  }
  return new ProviderSet(providers, config.TT_PUSH_IOS_PROVIDER, config.TT_PUSH_ANDROID_PROVIDER);
}

/** All set: true; none set: false; some: an error naming the missing ones. */
function complete(what: string, keys: Record<string, string | undefined>): boolean {
  const missing = Object.entries(keys).filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length === 0) return true;
  if (missing.length === Object.keys(keys).length) return false;
  throw new Error(`${what} is half-configured: ${missing.join(', ')} missing`);
}
