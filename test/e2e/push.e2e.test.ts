// Mobile push settings over TCP (docs/FLOWS.md §11, §12, §4 step 4.6; docs/FLOWS.md §14
// N1–N3, L13): device tokens, push shield, logout clearing the token, and the
// offline-push webhook route POSTs to (a real local HTTP server here).
import http from 'node:http';
import Redis from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import type { TeamTalkClient } from '@tiertalk/client';
import type { GatewayInfo } from '@tiertalk/testkit';
import { CID, IM, encryptContent } from '@tiertalk/proto';
import { waitFor } from '@tiertalk/testkit';
import { ANDROID, loggedIn, PC } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const IOS = IM.BaseDefine.ClientType.CLIENT_TYPE_IOS;
// TeamTalk's shipped aesKey, so `flash` can carry the text.
const AES_KEY = '12345678901234567890123456789012';

let tokenRedis: Redis;
let webhook: http.Server;
let webhookUrl = '';
/** Every JSON document the webhook received, parsed. */
const posted: Array<Record<string, unknown>> = [];
/** Status the webhook answers with, per received document (1-based); 'hang' answers never (until released). */
let webhookStatus: (nth: number) => number | 'hang' = () => 200;
const hanging: http.ServerResponse[] = [];

function sendDeviceToken(c: TeamTalkClient, deviceToken: string): Promise<IM.Login.IMDeviceTokenRsp> {
  return c.request(
    CID.CID_LOGIN_REQ_DEVICETOKEN,
    IM.Login.IMDeviceTokenReq.encode({ userId: 0, deviceToken }).finish(),
    CID.CID_LOGIN_RES_DEVICETOKEN,
    (b) => IM.Login.IMDeviceTokenRsp.decode(b),
    { timeoutMs: 1500 },
  );
}

function setPushShield(c: TeamTalkClient, shieldStatus: number): Promise<IM.Login.IMPushShieldRsp> {
  return c.request(
    CID.CID_LOGIN_REQ_PUSH_SHIELD,
    IM.Login.IMPushShieldReq.encode({ userId: 0, shieldStatus }).finish(),
    CID.CID_LOGIN_RES_PUSH_SHIELD,
    (b) => IM.Login.IMPushShieldRsp.decode(b),
  );
}

function queryPushShield(c: TeamTalkClient): Promise<IM.Login.IMQueryPushShieldRsp> {
  return c.request(
    CID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD,
    IM.Login.IMQueryPushShieldReq.encode({ userId: 0 }).finish(),
    CID.CID_LOGIN_RES_QUERY_PUSH_SHIELD,
    (b) => IM.Login.IMQueryPushShieldRsp.decode(b),
  );
}

/** A mobile client that registered a token and went away without logging out (the token stays). */
async function offlineWithToken(name: string, token: string): Promise<void> {
  const phone = await loggedIn(gw2(), name, ANDROID);
  await sendDeviceToken(phone, token);
  await waitFor(async () => (await tokenRedis.get(`device_${ids[name]}`)) === `android:${token}`, 3000);
  phone.close();
  // route forgets the session once the gateway saw the close
  await waitFor(async () => Object.keys(await suite.registeredSessions(ids[name])).length === 0, 5000);
}

beforeAll(async () => {
  webhook = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const doc: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      posted.push(typeof doc === 'object' && doc !== null ? { ...doc } : { invalid: doc });
      const status = webhookStatus(posted.length);
      if (status === 'hang') hanging.push(res);
      else res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const addr = webhook.address();
  if (addr === null || typeof addr === 'string') throw new Error('webhook has no TCP address');
  webhookUrl = `http://127.0.0.1:${addr.port}/tiertalk/push`;

});

const suite = e2eSuite('push', () => ({
  dbProxy: 1,
  route: 1,
  msg: 2,
  serviceEnv: {
    route: { TT_PUSH_WEBHOOK_URL: webhookUrl, TT_PUSH_RETRY_BASE_MS: '50', TT_AES_KEY: AES_KEY, TT_PUSH_CLAIM_IDLE_MS: '1000' },
  },
}));
const { ids } = suite;
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);

beforeAll(() => {
  tokenRedis = new Redis(suite.redisUrls.dbProxy);
});

afterEach(() => {
  webhookStatus = () => 200;
  for (const res of hanging.splice(0)) res.writeHead(200).end();
});

afterAll(async () => {
  tokenRedis?.disconnect();
  webhook?.closeAllConnections();
  await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
});

describe('device token (N1)', () => {
  it('from a mobile client: answered at once with the user id, stored as device_<uid> and device_<token>', async () => {
    const phone = await suite.loggedIn(gw1(), 'alice', ANDROID);
    const token = 'cXk3:APA91bE2e-alice_token';
    const rsp = await sendDeviceToken(phone, token);
    expect(rsp.userId).toBe(ids.alice);
    await waitFor(async () => (await tokenRedis.get(`device_${ids.alice}`)) === `android:${token}`, 3000);
    expect(await tokenRedis.get(`device_${token}`)).toBe(String(ids.alice));

    const iphone = await suite.loggedIn(gw2(), 'carol', IOS);
    await sendDeviceToken(iphone, 'ab'.repeat(32));
    await waitFor(async () => (await tokenRedis.get(`device_${ids.carol}`)) === `ios:${'ab'.repeat(32)}`, 3000);
  });

  it('from a PC client: ignored, no answer, nothing stored', async () => {
    const pc = await suite.loggedIn(gw1(), 'dave', PC);
    const replies: number[] = [];
    pc.on('pdu', (p) => p.commandId === CID.CID_LOGIN_RES_DEVICETOKEN && replies.push(p.seqNum));
    pc.sendFrame(CID.CID_LOGIN_REQ_DEVICETOKEN, 77, IM.Login.IMDeviceTokenReq.encode({ userId: 0, deviceToken: 'pc-token' }).finish());
    // Marker: a token is answered at once by the gateway, and stored through db-proxy like this
    // query, which is asked later on the same connection: its answer comes after both would have.
    await queryPushShield(pc);
    expect(replies).toEqual([]);
    expect(await tokenRedis.get(`device_${ids.dave}`)).toBeNull();
    expect(await tokenRedis.get('device_pc-token')).toBeNull();
  });

  it('hostile tokens are answered but never stored, and cannot touch another user', async () => {
    const bobPhone = await suite.loggedIn(gw1(), 'bob', ANDROID);
    await sendDeviceToken(bobPhone, 'bob-good-token');
    await waitFor(async () => (await tokenRedis.get(`device_${ids.bob}`)) === 'android:bob-good-token', 3000);
    const davePhone = await suite.loggedIn(gw2(), 'dave', ANDROID);
    // dave's id-shaped token would overwrite device_<bob> in TeamTalk's shared key space
    const hostileTokens = [String(ids.bob), "x' OR '1'='1", 'a\r\nFLUSHALL\r\n', 'a'.repeat(600)];
    for (const hostile of hostileTokens) {
      expect((await sendDeviceToken(davePhone, hostile)).userId).toBe(ids.dave);
    }
    // Marker: a good token sent after them goes the same way (gateway → db-proxy, one
    // connection, one Redis), so once it is stored the hostile ones were handled.
    await sendDeviceToken(davePhone, 'dave-marker-token');
    await waitFor(async () => (await tokenRedis.get(`device_${ids.dave}`)) === 'android:dave-marker-token', 3000);
    expect(await tokenRedis.get(`device_${ids.bob}`)).toBe('android:bob-good-token');
    for (const hostile of hostileTokens.slice(1)) expect(await tokenRedis.get(`device_${hostile}`)).toBeNull();
    // the connection is still served
    expect((await queryPushShield(davePhone)).resultCode).toBe(0);
  });

  it('logout clears the token before IMLogoutRsp, then the server closes (L13)', async () => {
    const phone = await loggedIn(gw2(), 'bob', ANDROID);
    await sendDeviceToken(phone, 'bob-token-to-clear');
    await waitFor(async () => (await tokenRedis.get(`device_${ids.bob}`)) === 'android:bob-token-to-clear', 3000);
    await phone.logout();
    expect(await tokenRedis.get(`device_${ids.bob}`)).toBeNull();
    expect(await tokenRedis.get('device_bob-token-to-clear')).toBeNull();
  });
});

describe('push shield (N2)', () => {
  it('sets do-not-disturb, stores it, and the query returns it', async () => {
    const phone = await suite.loggedIn(gw1(), 'carol', IOS);
    expect(await setPushShield(phone, 1)).toMatchObject({ userId: ids.carol, resultCode: 0, shieldStatus: 1 });
    const [rows] = await suite.pool.query<RowDataPacket[]>('SELECT push_shield_status FROM IMUser WHERE id = ?', [ids.carol]);
    expect(Number(rows[0].push_shield_status)).toBe(1);
    const other = await suite.loggedIn(gw2(), 'carol', PC);
    expect(await queryPushShield(other)).toMatchObject({ userId: ids.carol, resultCode: 0, shieldStatus: 1 });
    expect((await setPushShield(phone, 0)).shieldStatus).toBe(0);
    expect((await queryPushShield(phone)).shieldStatus).toBe(0);
  });

  it('refuses a status other than 0/1 with result 1 and keeps the stored one', async () => {
    const phone = await suite.loggedIn(gw1(), 'dave', ANDROID);
    await setPushShield(phone, 1);
    expect((await setPushShield(phone, 7)).resultCode).toBe(1);
    expect((await queryPushShield(phone)).shieldStatus).toBe(1);
  });
});

describe('offline push webhook (N3)', () => {
  it('posts an offline receiver’s message with its token, and nothing once the receiver is online', async () => {
    await offlineWithToken('bob', 'fcm-bob-offline');
    const alice = await suite.loggedIn(gw1(), 'alice', PC);
    const { msgId } = await alice.sendText(ids.bob, encryptContent('are you there, bob?', AES_KEY));
    await waitFor(() => posted.some((e) => e.msgId === msgId && e.toUserId === ids.bob), 5000);
    expect(posted.find((e) => e.msgId === msgId)).toEqual({
      type: 'message',
      toUserId: ids.bob,
      fromUserId: ids.alice,
      msgId,
      msgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT,
      createTime: expect.any(Number),
      // alice sent it from her PC
      fromClientClass: 'pc',
      flash: 'are you there, bob?',
      tokens: [{ token: 'fcm-bob-offline', clientType: ANDROID, pushType: 1, pushCount: 1 }],
    });

    // bob is back (on a PC): a live delivery, no push
    const bobPc = await suite.loggedIn(gw2(), 'bob', PC);
    const received = new Promise<IM.Message.IMMsgData>((resolve) => bobPc.once('message', resolve));
    const second = await alice.sendText(ids.bob, 'online now');
    expect((await received).msgId).toBe(second.msgId);
    // Marker: a message to an offline user with a token, sent later, is queued for the webhook
    // after a push for `second` would have been (route routes a gateway's envelopes in order
    // and reads its push queue in order; POSTs may overlap, so "before" is where they start).
    await offlineWithToken('dave', 'fcm-dave-marker');
    const marker = await alice.sendText(ids.dave, 'marker');
    await waitFor(() => posted.some((e) => e.msgId === marker.msgId && e.toUserId === ids.dave), 5000);
    expect(posted.filter((e) => e.msgId === second.msgId && e.toUserId === ids.bob)).toEqual([]);
  });

  it('retries after the webhook fails, and posts nothing for an offline user without a token', async () => {
    await offlineWithToken('carol', 'fcm-carol-offline');
    webhookStatus = (nth) => (posted[nth - 1]?.toUserId === ids.carol && posted.filter((e) => e.toUserId === ids.carol).length <= 2 ? 500 : 200);
    const alice = await suite.loggedIn(gw1(), 'alice', PC);
    const { msgId } = await alice.sendText(ids.carol, 'ping carol');
    await waitFor(() => posted.filter((e) => e.msgId === msgId && e.toUserId === ids.carol).length === 3, 5000);

    // dave never registered a token on this run: nothing to push
    await tokenRedis.del(`device_${ids.dave}`);
    const before = posted.length;
    await alice.sendText(ids.dave, 'hello dave');
    // Marker: carol (offline, with a token, the webhook answering her now) is pushed after it.
    const marker = await alice.sendText(ids.carol, 'marker');
    await waitFor(() => posted.some((e) => e.msgId === marker.msgId && e.toUserId === ids.carol), 5000);
    expect(posted.slice(before).filter((e) => e.toUserId === ids.dave)).toEqual([]);
  });
});

describe('offline push queue across a route restart (issue 10)', () => {
  it('a route killed with SIGKILL before the webhook answered: the next route instance posts its queued pushes', async () => {
    await offlineWithToken('carol', 'fcm-carol-restart');
    const forCarol = (from = 0): number[] => posted.slice(from).filter((e) => e.toUserId === ids.carol).map((e) => Number(e.msgId));
    // every POST hangs: the route holds all of them when it dies
    webhookStatus = () => 'hang';
    const alice = await suite.loggedIn(gw1(), 'alice', PC);
    const sent: number[] = [];
    for (let i = 0; i < 5; i += 1) sent.push((await alice.sendText(ids.carol, `before the crash ${i}`)).msgId);
    await waitFor(() => sent.every((id) => forCarol().includes(id)), 5000);

    await suite.cluster.kill('route-1', 'SIGKILL');
    webhookStatus = () => 200;
    const killedAt = posted.length;
    await suite.cluster.startInstance('route');
    // route-2 takes route-1's pending pushes over once they are TT_PUSH_CLAIM_IDLE_MS old
    await waitFor(() => sent.every((id) => forCarol(killedAt).includes(id)), 15_000);
    // none lost; a repeat is possible (at least once): the webhook dedupes on (toUserId, fromUserId, msgId)
    expect(new Set(forCarol(killedAt))).toEqual(new Set(sent));
  });
});
