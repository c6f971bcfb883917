// The push service (services/push, docs/FLOWS.md §4 step 4.6, §10 step 5) in a
// real cluster: route hands a stored message whose receiver has no session to
// the push service, which looks up the token, shields and badge in db-proxy and
// sends through the provider the token maps to. Stand-ins: APNs (HTTP/2 over
// TLS, dev PKI certificate the push process trusts via NODE_EXTRA_CA_CERTS) for
// iOS tokens, the webhook for Android tokens.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import jws from 'jws';
import type { Pool } from 'mysql2/promise';
import type { TeamTalkClient } from '@tiertalk/client';
import { CID, IM, encryptContent } from '@tiertalk/proto';
import { waitFor, type Cluster, type GatewayInfo } from '@tiertalk/testkit';
import { createDevPki } from '@tiertalk/tls';
import { FakeApns, FakeHttp, type RecordedRequest } from '../../services/push/test/fake-providers';
import { ANDROID, loggedIn, nextMessage, PC, storedMessages } from './helpers';
import { parseExposition, sumOf } from './prometheus-text';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const IOS = IM.BaseDefine.ClientType.CLIENT_TYPE_IOS;
const AES_KEY = '12345678901234567890123456789012';
const TOPIC = 'org.tiertalk.e2e';

let dir: string;
let cluster: Cluster;
let pool: Pool;
let gw: GatewayInfo;
let apns: FakeApns;
let hook: FakeHttp;
let apnsPublicPem: string;
let tokenRedis: Redis;
let keyFile: string;
let caCert: string;

// 64 hex digits, never all digits (db-proxy refuses those: they would collide with device_<uid> keys).
const iosToken = (n: number): string => n.toString(16).padStart(64, 'f');
const apnsBody = (r: RecordedRequest): { aps: { alert: { body: string }; badge: number }; from_id: string; msg_id: string; group_id?: string; from_client_class?: string } => JSON.parse(r.body.toString());
const hookBody = (r: RecordedRequest): { userId: number; token: string; body: string; badge: number; data: Record<string, string> } => JSON.parse(r.body.toString());

function request<T>(c: TeamTalkClient, cid: number, body: Uint8Array, replyCid: number, decode: (b: Uint8Array) => T): Promise<T> {
  return c.request(cid, body, replyCid, decode, { timeoutMs: 3000 });
}

/** Logs in on a phone, registers a token (and the push shield), and leaves: the user has no session, the token stays. */
async function offlinePhone(name: string, clientType: number, token: string, pushShield = false): Promise<void> {
  const phone = await loggedIn(gw, name, clientType);
  await request(phone, CID.CID_LOGIN_REQ_DEVICETOKEN, IM.Login.IMDeviceTokenReq.encode({ userId: 0, deviceToken: token }).finish(), CID.CID_LOGIN_RES_DEVICETOKEN, (b) =>
    IM.Login.IMDeviceTokenRsp.decode(b),
  );
  if (pushShield) {
    const rsp = await request(phone, CID.CID_LOGIN_REQ_PUSH_SHIELD, IM.Login.IMPushShieldReq.encode({ userId: 0, shieldStatus: 1 }).finish(), CID.CID_LOGIN_RES_PUSH_SHIELD, (b) =>
      IM.Login.IMPushShieldRsp.decode(b),
    );
    expect(rsp.resultCode).toBe(0);
  }
  // The token is stored by db-proxy after the gateway answered: the next request on the link comes after it.
  await request(phone, CID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD, IM.Login.IMQueryPushShieldReq.encode({ userId: 0 }).finish(), CID.CID_LOGIN_RES_QUERY_PUSH_SHIELD, (b) =>
    IM.Login.IMQueryPushShieldRsp.decode(b),
  );
  // Closed, not logged out: a logout clears the token (docs/FLOWS.md §11).
  phone.close();
  await phone.closed;
  await waitFor(async () => Object.keys(await suite.registeredSessions(phone.userId ?? 0)).length === 0, 5000);
}

async function metricsOf(name: string): Promise<ReturnType<typeof parseExposition>> {
  const info = cluster.instanceInfo().find((i) => i.name === name);
  const res = await fetch(`http://127.0.0.1:${info?.metricsPort}/metrics`);
  return parseExposition(await res.text());
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tt-push-e2e-'));
  const pki = createDevPki(path.join(dir, 'pki'), ['apns']);
  apns = await FakeApns.start(pki);
  hook = await FakeHttp.start();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  apnsPublicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  keyFile = path.join(dir, 'AuthKey_E2E.p8');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  caCert = pki.caCert;
});

// A function spec: read after the beforeAll above started the stand-in providers it points at.
const suite = e2eSuite('push-service', () => ({
  dbProxy: 1,
  route: 1,
  msg: 1,
  push: 1,
  serviceEnv: {
    push: {
      NODE_EXTRA_CA_CERTS: caCert,
      TT_AES_KEY: AES_KEY,
      TT_APNS_KEY_FILE: keyFile,
      TT_APNS_KEY_ID: 'E2EKEY',
      TT_APNS_TEAM_ID: 'E2ETEAM',
      TT_APNS_TOPIC: TOPIC,
      TT_APNS_URL: apns.url,
      TT_PUSH_ANDROID_PROVIDER: 'webhook',
      TT_WEBHOOK_URL: `${hook.url}/push`,
      // One send at a time, in order: a later marker's arrival proves an earlier push was never sent.
      TT_PUSH_CONCURRENCY: '1',
      TT_PUSH_RETRY_BASE_MS: '50',
    },
    // Fail fast once the push service is gone (the test kills it).
    route: { TT_PUSH_SERVICE_DEADLINE_MS: '1000' },
  },
}));
const track = async (p: Promise<TeamTalkClient>): Promise<TeamTalkClient> => suite.track(await p);
const newUser = (prefix: string): Promise<{ name: string; id: number }> => suite.newUser(prefix);

beforeAll(() => {
  cluster = suite.cluster;
  [gw] = cluster.gateways();
  pool = suite.pool;
  tokenRedis = new Redis(suite.redisUrls.dbProxy);
});

// Declared after e2eSuite, so it runs after the suite stopped the cluster.
afterAll(async () => {
  tokenRedis?.disconnect();
  await apns?.close();
  await hook?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('push service', () => {
  it('runs like the other tiers: registered in etcd, /healthz and /readyz on its metrics port', async () => {
    const info = cluster.instanceInfo().find((i) => i.name === 'push-1');
    expect(info?.alive).toBe(true);
    for (const probe of ['healthz', 'readyz']) expect((await fetch(`http://127.0.0.1:${info?.metricsPort}/${probe}`)).status).toBe(200);
    expect(sumOf(await metricsOf('push-1'), 'tt_push_notifications_total', { provider: 'apns', outcome: 'sent' })).toBe(0);
  });

  it('an offline iOS user gets an APNs push with the text and the unread badge; an online one none', async () => {
    const alice = await newUser('pa');
    const bob = await newUser('pb');
    await offlinePhone(bob.name, IOS, iosToken(bob.id));
    const a = await track(loggedIn(gw, alice.name, PC));
    const before = apns.requests.length;
    expect((await a.sendText(bob.id, encryptContent('hi bob, are you there?', AES_KEY))).msgId).toBeGreaterThan(0);
    await apns.received(before + 1);
    expect((await a.sendText(bob.id, encryptContent('second', AES_KEY))).msgId).toBeGreaterThan(0);
    await apns.received(before + 2);
    const [first, second] = apns.requests.slice(before);
    expect(first.path).toBe(`/3/device/${iosToken(bob.id)}`);
    expect(first.headers['apns-topic']).toBe(TOPIC);
    expect(first.headers['apns-push-type']).toBe('alert');
    const jwt = first.headers.authorization.replace(/^bearer /, '');
    expect(jws.verify(jwt, 'ES256', apnsPublicPem)).toBe(true);
    expect(jws.decode(jwt, { json: true })!.header.kid).toBe('E2EKEY');
    // Sent from alice's PC: the app can say where it came from.
    expect(apnsBody(first)).toMatchObject({ aps: { alert: { body: 'hi bob, are you there?' }, badge: 1 }, from_id: String(alice.id), from_client_class: 'pc' });
    expect(apnsBody(second)).toMatchObject({ aps: { alert: { body: 'second' }, badge: 2 }, from_id: String(alice.id) });

    // Bob online (a PC session): the message is delivered live, not pushed. A marker to an offline user must be the next push.
    const b = await track(loggedIn(gw, bob.name, PC));
    const carol = await newUser('pc');
    await offlinePhone(carol.name, IOS, iosToken(carol.id));
    const mark = apns.requests.length;
    await a.sendText(bob.id, encryptContent('live only', AES_KEY));
    await a.sendText(carol.id, encryptContent('marker', AES_KEY));
    await apns.received(mark + 1);
    expect(apns.requests[mark].path).toBe(`/3/device/${iosToken(carol.id)}`);
    expect(apnsBody(apns.requests[mark]).aps.alert.body).toBe('marker');
    expect(b.userId).toBe(bob.id);
  });

  it('a receiver whose only session is a phone (maybe in the background) gets the message live and a push', async () => {
    const alice = await newUser('ma');
    const dan = await newUser('md');
    await offlinePhone(dan.name, ANDROID, `android-token-${dan.id}`);
    const phone = await track(loggedIn(gw, dan.name, ANDROID));
    const live = nextMessage(phone);
    const a = await track(loggedIn(gw, alice.name, PC));
    const mark = hook.requests.length;
    await a.sendText(dan.id, encryptContent('on the phone', AES_KEY));
    expect(Buffer.from((await live).msgData).length).toBeGreaterThan(0);
    await hook.received(mark + 1);
    expect(hookBody(hook.requests[mark])).toMatchObject({ userId: dan.id, token: `android-token-${dan.id}`, body: 'on the phone', badge: 1 });
  });

  it('no push for a receiver whose push shield is on (a later marker push arrives first)', async () => {
    const alice = await newUser('sa');
    const quiet = await newUser('sq');
    const loud = await newUser('sl');
    await offlinePhone(quiet.name, IOS, iosToken(quiet.id), true);
    await offlinePhone(loud.name, IOS, iosToken(loud.id));
    const a = await track(loggedIn(gw, alice.name, PC));
    const mark = apns.requests.length;
    expect((await a.sendText(quiet.id, encryptContent('do not disturb', AES_KEY))).msgId).toBeGreaterThan(0);
    expect((await a.sendText(loud.id, encryptContent('marker', AES_KEY))).msgId).toBeGreaterThan(0);
    await apns.received(mark + 1);
    expect(apns.requests.slice(mark).map((r) => r.path)).toEqual([`/3/device/${iosToken(loud.id)}`]);
    // db-proxy itself leaves out a shielded user's iOS token between 22:00 and 07:59 (TeamTalk's rule): then it counts as no_token.
    const metrics = await metricsOf('push-1');
    const skipped = sumOf(metrics, 'tt_push_skipped_total', { reason: 'push_shield' }) + sumOf(metrics, 'tt_push_skipped_total', { reason: 'no_token' });
    expect(skipped).toBeGreaterThanOrEqual(1);
  });

  it('group messages: offline members are pushed (Android via the webhook), members who muted the group are not', async () => {
    const owner = await newUser('go');
    const member = await newUser('gm');
    const muted = await newUser('gx');
    await offlinePhone(member.name, ANDROID, `android-token-${member.id}`);
    // muted shields the group on its phone, then leaves.
    const phone = await loggedIn(gw, muted.name, ANDROID);
    const o = await track(loggedIn(gw, owner.name, PC));
    const { groupId } = await o.groups.createGroup(`push-${owner.name}`, '', [owner.id, member.id, muted.id]);
    await phone.groups.shieldGroup(groupId, true);
    phone.close();
    await phone.closed;
    await waitFor(async () => Object.keys(await suite.registeredSessions(muted.id)).length === 0, 5000);
    await offlinePhone(muted.name, ANDROID, `android-token-${muted.id}`);

    const mark = hook.requests.length;
    expect((await o.groups.sendGroupText(groupId, encryptContent('group news', AES_KEY))).msgId).toBeGreaterThan(0);
    await hook.received(mark + 1);
    const pushed = hookBody(hook.requests[mark]);
    expect(pushed).toMatchObject({ userId: member.id, token: `android-token-${member.id}`, body: 'group news' });
    expect(pushed.data).toMatchObject({ group_id: String(groupId), from_id: String(owner.id), msg_type: String(IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT), from_client_class: 'pc' });
    // A marker to member: with one send at a time, a push to the muted member would have come before it.
    await o.sendText(member.id, encryptContent('marker', AES_KEY));
    await hook.received(mark + 2);
    expect(hook.requests.slice(mark).map((r) => hookBody(r).userId)).toEqual([member.id, member.id]);
    expect(hookBody(hook.requests[mark + 1]).body).toBe('marker');
  });

  it('a transient APNs failure (503) is retried; 410 Unregistered clears the token in db-proxy', async () => {
    const alice = await newUser('ra');
    const bob = await newUser('rb');
    await offlinePhone(bob.name, IOS, iosToken(bob.id));
    const a = await track(loggedIn(gw, alice.name, PC));
    const mark = apns.requests.length;
    apns.answerNext({ status: 503, body: { reason: 'ServiceUnavailable' } });
    await a.sendText(bob.id, encryptContent('retried', AES_KEY));
    await apns.received(mark + 2);
    expect(apns.requests.slice(mark).map((r) => [r.path, apnsBody(r).aps.alert.body])).toEqual([
      [`/3/device/${iosToken(bob.id)}`, 'retried'],
      [`/3/device/${iosToken(bob.id)}`, 'retried'],
    ]);
    expect(sumOf(await metricsOf('push-1'), 'tt_push_retries_total', { provider: 'apns' })).toBeGreaterThanOrEqual(1);

    expect(await tokenRedis.get(`device_${bob.id}`)).toBe(`ios:${iosToken(bob.id)}`);
    apns.answerNext({ status: 410, body: { reason: 'Unregistered', timestamp: Date.now() } });
    await a.sendText(bob.id, encryptContent('app removed', AES_KEY));
    // Counted once db-proxy confirmed the clearing.
    await waitFor(async () => sumOf(await metricsOf('push-1'), 'tt_push_tokens_cleared_total') >= 1, 10_000);
    expect(await tokenRedis.get(`device_${bob.id}`)).toBeNull();
  });

  it('push service down: messages are still stored and ACKed, the requests are counted as unavailable', async () => {
    const alice = await newUser('da');
    const bob = await newUser('db');
    await offlinePhone(bob.name, IOS, iosToken(bob.id));
    const a = await track(loggedIn(gw, alice.name, PC));
    await cluster.kill('push-1');
    const sent: number[] = [];
    for (const t of ['while push is down 1', 'while push is down 2']) {
      const { msgId } = await a.sendText(bob.id, encryptContent(t, AES_KEY));
      expect(msgId).toBeGreaterThan(0);
      sent.push(msgId);
    }
    expect((await storedMessages(pool, alice.id, bob.id)).map((m) => m.msgId)).toEqual(expect.arrayContaining(sent));
    await waitFor(async () => sumOf(await metricsOf('route-1'), 'tt_route_push_requests_total', { outcome: 'unavailable' }) >= 2, 10_000);
  });
});
