// The push service's settings: provider credentials come from files and are
// never shown; a half-configured provider is refused; tokens map to providers
// by content (Web Push subscriptions) and client type.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import webpush from 'web-push';
import { ConfigError, maskConfig } from '@tiertalk/config';
import { loadPushConfig } from './config';
import { providersFromConfig } from './providers/select';

const IOS = 17;
const ANDROID = 18;
const WINDOWS = 1;

let dir: string;
let p8File: string;
let p8: string;
let saFile: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tt-push-config-'));
  p8 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  p8File = path.join(dir, 'AuthKey_ABC.p8');
  writeFileSync(p8File, p8);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  saFile = path.join(dir, 'sa.json');
  writeFileSync(saFile, JSON.stringify({ project_id: 'p', client_email: 'e@p.iam.gserviceaccount.com', private_key: rsa, token_uri: 'https://oauth2.googleapis.com/token' }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const apnsEnv = (): Record<string, string> => ({ TT_APNS_KEY_FILE: p8File, TT_APNS_KEY_ID: 'ABC', TT_APNS_TEAM_ID: 'TEAM', TT_APNS_TOPIC: 'org.example.app' });

it('defaults: port 8500, iOS → apns, Android → fcm, no provider configured', () => {
  const config = loadPushConfig({});
  expect([config.TT_GRPC_PORT, config.TT_PUSH_IOS_PROVIDER, config.TT_PUSH_ANDROID_PROVIDER]).toEqual([8500, 'apns', 'fcm']);
  expect(config.TT_APNS_URL).toBe('https://api.push.apple.com');
  expect(providersFromConfig(config).names).toEqual([]);
});

it('reads the APNs key and the FCM service account from files and never shows them', () => {
  const config = loadPushConfig({ ...apnsEnv(), TT_FCM_SERVICE_ACCOUNT_KEY_FILE: saFile });
  expect(config.TT_APNS_KEY).toBe(p8.trim());
  const shown = JSON.stringify(maskConfig(config));
  expect(shown).not.toContain('PRIVATE KEY');
  expect(shown).toContain('org.example.app');
  const providers = providersFromConfig(config);
  expect(providers.names.sort()).toEqual(['apns', 'fcm']);
  providers.close();
});

it('refuses a half-configured provider, an unknown provider name and a bad webhook URL', () => {
  expect(() => providersFromConfig(loadPushConfig({ TT_APNS_KEY_FILE: p8File }))).toThrow('APNs is half-configured: TT_APNS_KEY_ID, TT_APNS_TEAM_ID, TT_APNS_TOPIC missing');
  expect(() => providersFromConfig(loadPushConfig({ TT_VAPID_SUBJECT: 'mailto:a@b.c' }))).toThrow(/Web Push is half-configured/);
  expect(() => providersFromConfig(loadPushConfig({ TT_FCM_SERVICE_ACCOUNT_KEY: '{"project_id":"p"}' }))).toThrow(/lacks client_email/);
  expect(() => loadPushConfig({ TT_PUSH_IOS_PROVIDER: 'pigeon' })).toThrow(ConfigError);
  expect(() => loadPushConfig({ TT_WEBHOOK_URL: 'ftp://x' })).toThrow(/TT_WEBHOOK_URL: expected an http/);
  expect(() => loadPushConfig({ TT_APNS_KEY_FILE: path.join(dir, 'missing.p8') })).toThrow(/TT_APNS_KEY_FILE: expected a readable file/);
});

it('maps a token to its provider: a subscription to Web Push, else by client type', () => {
  const vapid = webpush.generateVAPIDKeys();
  const providers = providersFromConfig(
    loadPushConfig({
      ...apnsEnv(),
      TT_PUSH_ANDROID_PROVIDER: 'webhook',
      TT_WEBHOOK_URL: 'http://127.0.0.1:9/push',
      TT_VAPID_PUBLIC_KEY: vapid.publicKey,
      TT_VAPID_PRIVATE_KEY: vapid.privateKey,
      TT_VAPID_SUBJECT: 'mailto:ops@example.org',
    }),
  );
  const sub = JSON.stringify({ endpoint: 'https://push.example.net/s/1', keys: { p256dh: 'BPk', auth: 'x' } });
  expect(providers.pick({ userId: 1, clientType: IOS, token: 'ab'.repeat(32) })?.name).toBe('apns');
  expect(providers.pick({ userId: 1, clientType: ANDROID, token: 'fcm-token' })?.name).toBe('webhook');
  expect(providers.pick({ userId: 1, clientType: IOS, token: sub })?.name).toBe('webpush');
  expect(providers.pick({ userId: 1, clientType: WINDOWS, token: 't' })).toBeUndefined();
  // The mapping names a provider that is not configured: no provider.
  const none = providersFromConfig(loadPushConfig({ TT_PUSH_IOS_PROVIDER: 'fcm' }));
  expect(none.pick({ userId: 1, clientType: IOS, token: 'ab'.repeat(32) })).toBeUndefined();
  providers.close();
});
