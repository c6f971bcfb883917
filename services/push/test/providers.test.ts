// Each provider against a local stand-in that checks the request the real
// service would get: APNs over HTTP/2 + TLS (ES256 provider token), FCM HTTP v1
// with its OAuth2 token exchange (RS256 assertion), Web Push (VAPID + an
// aes128gcm body the subscription's keys decrypt), and the signed webhook.
import { createECDH, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jws from 'jws';
import webpush from 'web-push';
import { createDevPki, type DevPki } from '@tiertalk/tls';
import type { DeviceTarget, Notification } from '../src/notification';
import { ApnsProvider } from '../src/providers/apns';
import { FcmProvider, parseServiceAccount } from '../src/providers/fcm';
import { WebPushProvider } from '../src/providers/web-push';
import { SIGNATURE_HEADER, WebhookProvider, signatureOf } from '../src/providers/webhook';
import { FakeApns, FakeHttp } from './fake-providers';

// http_ece is web-push's own encryption library (no type declarations): the receiving browser's side here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ece = require('http_ece') as { decrypt(body: Buffer, params: Record<string, unknown>): Buffer };

const IOS = 17;
const ANDROID = 18;
const note: Notification = { body: 'hello bob', badge: 3, data: { msg_type: '1', from_id: '7', msg_id: '42' }, threadId: 'u7' };
const never = new AbortController().signal;

let dir: string;
let pki: DevPki;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tt-push-providers-'));
  pki = createDevPki(path.join(dir, 'pki'), ['apns', 'webpush']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('APNs', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const p8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const token = 'ab'.repeat(32);
  let apns: FakeApns;
  let provider: ApnsProvider;
  beforeAll(async () => {
    apns = await FakeApns.start(pki);
    provider = new ApnsProvider({ key: p8, keyId: 'KEY123', teamId: 'TEAM456', topic: 'org.tiertalk.app', url: apns.url, timeoutMs: 5000, ca: readFileSync(pki.caCert, 'utf8') });
  });
  afterAll(async () => {
    provider.close();
    await apns.close();
  });

  it('POSTs /3/device/<token> over HTTP/2 with an ES256 provider token, apns-topic and the aps payload', async () => {
    const target: DeviceTarget = { userId: 2, clientType: IOS, token };
    await expect(provider.send(target, note, never)).resolves.toEqual({ kind: 'sent' });
    const req = apns.requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/3/device/${token}`);
    expect(req.headers['apns-topic']).toBe('org.tiertalk.app');
    expect(req.headers['apns-push-type']).toBe('alert');
    expect(req.headers['apns-priority']).toBe('10');
    const [scheme, jwt] = req.headers.authorization.split(' ');
    expect(scheme).toBe('bearer');
    expect(jws.verify(jwt, 'ES256', publicPem)).toBe(true);
    const decoded = jws.decode(jwt, { json: true })!;
    expect(decoded.header).toEqual({ alg: 'ES256', kid: 'KEY123' });
    expect(decoded.payload).toEqual({ iss: 'TEAM456', iat: expect.any(Number) });
    expect(JSON.parse(req.body.toString())).toEqual({
      aps: { alert: { body: 'hello bob' }, badge: 3, sound: 'default', 'thread-id': 'u7' },
      msg_type: '1',
      from_id: '7',
      msg_id: '42',
    });
  });

  it('410 Unregistered and 400 BadDeviceToken say the token is dead; 429/503 are transient; 403 other reasons are final', async () => {
    const target: DeviceTarget = { userId: 2, clientType: IOS, token };
    apns.answerNext(
      { status: 410, body: { reason: 'Unregistered', timestamp: 1 } },
      { status: 400, body: { reason: 'BadDeviceToken' } },
      { status: 429, body: { reason: 'TooManyRequests' } },
      { status: 503, body: { reason: 'ServiceUnavailable' } },
      { status: 403, body: { reason: 'BadCertificateEnvironment' } },
    );
    expect(await provider.send(target, note, never)).toEqual({ kind: 'invalid-token', reason: 'APNs 410 Unregistered' });
    expect(await provider.send(target, note, never)).toEqual({ kind: 'invalid-token', reason: 'APNs 400 BadDeviceToken' });
    expect((await provider.send(target, note, never)).kind).toBe('retry');
    expect((await provider.send(target, note, never)).kind).toBe('retry');
    expect(await provider.send(target, note, never)).toEqual({ kind: 'rejected', reason: 'APNs 403 BadCertificateEnvironment' });
  });

  it('refuses a token that is not hex without a request', async () => {
    const before = apns.requests.length;
    expect((await provider.send({ userId: 2, clientType: IOS, token: 'not-a-token' }, note, never)).kind).toBe('invalid-token');
    expect(apns.requests.length).toBe(before);
  });

  it('a server that is gone is a transient failure', async () => {
    const gone = new ApnsProvider({ key: p8, keyId: 'K', teamId: 'T', topic: 'x', url: 'https://127.0.0.1:1', timeoutMs: 2000 });
    expect((await gone.send({ userId: 2, clientType: IOS, token }, note, never)).kind).toBe('retry');
    gone.close();
  });
});

describe('FCM HTTP v1', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  let google: FakeHttp;
  let provider: FcmProvider;
  beforeAll(async () => {
    google = await FakeHttp.start((req) =>
      req.path === '/token' ? { status: 200, body: { access_token: 'ya29.fake-access', expires_in: 3599, token_type: 'Bearer' } } : { status: 200, body: { name: 'projects/p/messages/1' } },
    );
    const serviceAccount = parseServiceAccount(
      JSON.stringify({
        type: 'service_account',
        project_id: 'tiertalk-test',
        private_key_id: 'kid-1',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: 'push@tiertalk-test.iam.gserviceaccount.com',
        token_uri: `${google.url}/token`,
      }),
    );
    provider = new FcmProvider({ serviceAccount, url: google.url, timeoutMs: 5000 });
  });
  afterAll(() => google.close());

  it('exchanges an RS256 service-account JWT for an access token once, then POSTs messages:send with it', async () => {
    const target: DeviceTarget = { userId: 3, clientType: ANDROID, token: 'fcm-token-1' };
    expect(await provider.send(target, note, never)).toEqual({ kind: 'sent' });
    expect(await provider.send(target, { ...note, badge: 4 }, never)).toEqual({ kind: 'sent' });
    const [tokenReq, send1, send2] = google.requests;
    expect(tokenReq.path).toBe('/token');
    expect(tokenReq.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(tokenReq.body.toString());
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const assertion = form.get('assertion')!;
    expect(jws.verify(assertion, 'RS256', publicPem)).toBe(true);
    const decoded = jws.decode(assertion, { json: true })!;
    expect(decoded.header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid-1' });
    expect(decoded.payload).toMatchObject({
      iss: 'push@tiertalk-test.iam.gserviceaccount.com',
      scope: 'https://www.googleapis.com/auth/firebase.messaging',
      aud: `${google.url}/token`,
    });
    expect(decoded.payload.exp - decoded.payload.iat).toBe(3600);
    for (const send of [send1, send2]) {
      expect(send.method).toBe('POST');
      expect(send.path).toBe('/v1/projects/tiertalk-test/messages:send');
      expect(send.headers.authorization).toBe('Bearer ya29.fake-access');
    }
    expect(JSON.parse(send1.body.toString())).toEqual({
      message: {
        token: 'fcm-token-1',
        notification: { body: 'hello bob' },
        data: { msg_type: '1', from_id: '7', msg_id: '42' },
        android: { priority: 'high', collapse_key: 'u7', notification: { notification_count: 3, tag: 'u7' } },
      },
    });
    expect(google.requests.length).toBe(3);
  });

  it('UNREGISTERED is a dead token, 401 renews the access token, 429/500 are transient, 400 is final', async () => {
    const target: DeviceTarget = { userId: 3, clientType: ANDROID, token: 'fcm-token-2' };
    google.answerNext({ status: 404, body: { error: { code: 404, status: 'NOT_FOUND', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } } });
    expect(await provider.send(target, note, never)).toEqual({ kind: 'invalid-token', reason: 'FCM 404 UNREGISTERED' });
    google.answerNext({ status: 401, body: { error: { status: 'UNAUTHENTICATED' } } });
    expect((await provider.send(target, note, never)).kind).toBe('retry');
    const before = google.requests.length;
    expect(await provider.send(target, note, never)).toEqual({ kind: 'sent' });
    // The 401 dropped the access token: a new exchange came first.
    expect(google.requests.slice(before).map((r) => r.path)).toEqual(['/token', '/v1/projects/tiertalk-test/messages:send']);
    google.answerNext({ status: 429, body: { error: { status: 'RESOURCE_EXHAUSTED' } } }, { status: 500, body: {} });
    expect((await provider.send(target, note, never)).kind).toBe('retry');
    expect((await provider.send(target, note, never)).kind).toBe('retry');
    google.answerNext({ status: 400, body: { error: { status: 'INVALID_ARGUMENT' } } });
    expect(await provider.send(target, note, never)).toEqual({ kind: 'rejected', reason: 'FCM 400 INVALID_ARGUMENT' });
  });

  it('a service account key without its fields is refused with their names', () => {
    expect(() => parseServiceAccount('{"project_id":"p"}')).toThrow('lacks client_email, private_key, token_uri');
    expect(() => parseServiceAccount('nope')).toThrow('not JSON');
  });
});

describe('Web Push', () => {
  const vapid = webpush.generateVAPIDKeys();
  // The browser's side of a subscription: its ECDH key pair and auth secret.
  const browser = createECDH('prime256v1');
  browser.generateKeys();
  const auth = randomBytes(16).toString('base64url');
  let endpoint: FakeHttp;
  let provider: WebPushProvider;
  beforeAll(async () => {
    endpoint = await FakeHttp.start(() => ({ status: 201 }), { pki, name: 'webpush' });
    provider = new WebPushProvider({ publicKey: vapid.publicKey, privateKey: vapid.privateKey, subject: 'mailto:ops@tiertalk.test', timeoutMs: 5000, ca: readFileSync(pki.caCert, 'utf8') });
  });
  afterAll(async () => {
    provider.close();
    await endpoint.close();
  });

  const token = (): string => JSON.stringify({ endpoint: `${endpoint.url}/push/sub-1`, keys: { p256dh: browser.getPublicKey('base64url'), auth } });

  it('POSTs an aes128gcm payload the subscription decrypts, with a VAPID JWT signed by the application key', async () => {
    expect(await provider.send({ userId: 4, clientType: IOS, token: token() }, note, never)).toEqual({ kind: 'sent' });
    const req = endpoint.requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/push/sub-1');
    expect(req.headers['content-encoding']).toBe('aes128gcm');
    expect(req.headers.ttl).toBe('86400');
    expect(req.headers.urgency).toBe('high');
    expect(req.headers.topic).toBe('u7');
    const m = /^vapid t=([^,]+), k=(.+)$/.exec(req.headers.authorization);
    expect(m).not.toBeNull();
    const [, jwt, k] = m!;
    expect(k).toBe(vapid.publicKey);
    const raw = Buffer.from(vapid.publicKey, 'base64url');
    const jwk = { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') };
    const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    expect(jws.verify(jwt, 'ES256', pem)).toBe(true);
    expect(jws.decode(jwt, { json: true })!.payload).toMatchObject({ aud: endpoint.url, sub: 'mailto:ops@tiertalk.test' });
    const plain = ece.decrypt(req.body, { version: 'aes128gcm', privateKey: browser, authSecret: auth });
    expect(JSON.parse(plain.toString())).toEqual({ body: 'hello bob', badge: 3, tag: 'u7', data: note.data });
  });

  it('410 Gone is a dead subscription, 429 transient, 400 final', async () => {
    endpoint.answerNext({ status: 410 }, { status: 429 }, { status: 400 });
    expect((await provider.send({ userId: 4, clientType: IOS, token: token() }, note, never)).kind).toBe('invalid-token');
    expect((await provider.send({ userId: 4, clientType: IOS, token: token() }, note, never)).kind).toBe('retry');
    expect((await provider.send({ userId: 4, clientType: IOS, token: token() }, note, never)).kind).toBe('rejected');
  });
});

describe('webhook', () => {
  let hook: FakeHttp;
  beforeAll(async () => {
    hook = await FakeHttp.start();
  });
  afterAll(() => hook.close());

  it('POSTs the notification as JSON, signed with HMAC-SHA256 of the body', async () => {
    const provider = new WebhookProvider({ url: `${hook.url}/push`, secret: 's3cret', timeoutMs: 5000 });
    expect(await provider.send({ userId: 5, clientType: ANDROID, token: 'tok-5' }, note, never)).toEqual({ kind: 'sent' });
    const req = hook.requests.at(-1)!;
    expect(req.path).toBe('/push');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers[SIGNATURE_HEADER]).toBe(signatureOf('s3cret', req.body.toString()));
    expect(req.headers[SIGNATURE_HEADER]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(JSON.parse(req.body.toString())).toEqual({ type: 'message', userId: 5, clientType: ANDROID, token: 'tok-5', body: 'hello bob', badge: 3, data: note.data });
  });

  it('no signature header without a secret; 410 is a dead token, 503 transient, 422 final', async () => {
    const provider = new WebhookProvider({ url: hook.url, timeoutMs: 5000 });
    hook.answerNext({ status: 200 }, { status: 410 }, { status: 503 }, { status: 422 });
    expect((await provider.send({ userId: 5, clientType: ANDROID, token: 't' }, note, never)).kind).toBe('sent');
    expect(hook.requests.at(-1)!.headers[SIGNATURE_HEADER]).toBeUndefined();
    expect((await provider.send({ userId: 5, clientType: ANDROID, token: 't' }, note, never)).kind).toBe('invalid-token');
    expect((await provider.send({ userId: 5, clientType: ANDROID, token: 't' }, note, never)).kind).toBe('retry');
    expect((await provider.send({ userId: 5, clientType: ANDROID, token: 't' }, note, never)).kind).toBe('rejected');
  });
});
