// db-proxy's device tokens, push shield and token lookup (docs/FLOWS.md §4 step 4.6,
// §11, §12; docs/FLOWS.md §14 N1, N2, L13) against real MariaDB and Redis.
import type { RowDataPacket } from 'mysql2/promise';
import { IM } from '@tiertalk/proto';
import { DeviceTokenHandlers, inQuietHours } from '../src/handlers/push/device-token';
import { PushShieldHandlers } from '../src/handlers/push/push-shield';
import { DeviceTokenStore } from '../src/store/device-tokens';
import { UserDirectory } from '../src/store/user-directory';
import { RequestError } from '../src/unary';
import { DirectoryFixture, openDirectoryFixture, silentLog } from './directory-fixture';

const { ClientType } = IM.BaseDefine;
const IOS = ClientType.CLIENT_TYPE_IOS;
const ANDROID = ClientType.CLIENT_TYPE_ANDROID;

let fx: DirectoryFixture;
let users: UserDirectory;
let clock: Date;
let tokens: DeviceTokenHandlers;
let shield: PushShieldHandlers;

const APNS = 'a'.repeat(32) + '0123456789abcdef0123456789abcdef';
const FCM = 'cXk3:APA91bH_fcm-token_part-2';

const register = (userId: number, clientType: number, deviceToken: string) =>
  tokens.register(IM.Login.IMDeviceTokenReq.create({ userId, clientType, deviceToken }));
const lookup = (...userId: number[]) => tokens.tokensFor(IM.Server.IMGetDeviceTokenReq.create({ userId }));

beforeAll(async () => {
  fx = await openDirectoryFixture('a_tt_dbproxy_push_test_b');
  users = new UserDirectory(fx.pool, fx.pool);
  tokens = new DeviceTokenHandlers(new DeviceTokenStore(fx.redis), users, fx.redis, silentLog, { now: () => clock });
  shield = new PushShieldHandlers(users, silentLog);
});
beforeEach(async () => {
  await fx.redis.flushdb();
  await fx.pool.query('UPDATE IMUser SET push_shield_status = 0');
  clock = new Date(2024, 0, 15, 12, 0, 0); // noon, local time
});
afterAll(async () => {
  await fx.close();
});

describe('DeviceToken (docs/FLOWS.md §11)', () => {
  it('stores device_<uid> with the client-type prefix and the reverse device_<token>', async () => {
    const { alice, bob } = fx.ids;
    expect(await register(alice, IOS, APNS)).toMatchObject({ userId: alice });
    await register(bob, ANDROID, FCM);
    expect(await fx.redis.get(`device_${alice}`)).toBe(`ios:${APNS}`);
    expect(await fx.redis.get(`device_${APNS}`)).toBe(String(alice));
    expect(await fx.redis.get(`device_${bob}`)).toBe(`android:${FCM}`);
    expect(await fx.redis.get(`device_${FCM}`)).toBe(String(bob));
  });

  it('a new token replaces the old one and clears the old reverse key', async () => {
    const { alice } = fx.ids;
    await register(alice, IOS, APNS);
    await register(alice, IOS, 'f'.repeat(64));
    expect(await fx.redis.get(`device_${alice}`)).toBe(`ios:${'f'.repeat(64)}`);
    expect(await fx.redis.get(`device_${APNS}`)).toBeNull();
  });

  it('an empty token (logout, docs/FLOWS.md §12) clears both keys', async () => {
    const { alice } = fx.ids;
    await register(alice, IOS, APNS);
    await register(alice, IOS, '');
    expect(await fx.redis.get(`device_${alice}`)).toBeNull();
    expect(await fx.redis.get(`device_${APNS}`)).toBeNull();
    expect((await lookup(alice)).userTokenInfo).toEqual([]);
  });

  it('a token that moves to another account on the same device stops pushing to the first account', async () => {
    const { alice, bob } = fx.ids;
    await register(alice, ANDROID, FCM);
    await register(bob, ANDROID, FCM);
    expect(await fx.redis.get(`device_${alice}`)).toBeNull();
    expect(await fx.redis.get(`device_${FCM}`)).toBe(String(bob));
    // alice registering something else later must not clear bob's reverse key
    await register(alice, ANDROID, 'other-token');
    expect(await fx.redis.get(`device_${FCM}`)).toBe(String(bob));
    expect((await lookup(alice, bob)).userTokenInfo.map((t) => [t.userId, t.token])).toEqual([
      [alice, 'other-token'],
      [bob, FCM],
    ]);
  });

  it('refuses hostile or unusable tokens and leaves other users alone', async () => {
    const { alice, bob } = fx.ids;
    await register(bob, ANDROID, FCM);
    // "<bob's id>" as a token would overwrite device_<bob> (the key spaces are shared)
    for (const bad of [String(bob), 'tok en', 'x\r\nSET device_1 pwned', 'a'.repeat(513), 'nul\u0000', '签名']) {
      await expect(register(alice, ANDROID, bad)).rejects.toBeInstanceOf(RequestError);
    }
    await expect(register(0, ANDROID, FCM)).rejects.toBeInstanceOf(RequestError);
    expect(await fx.redis.get(`device_${bob}`)).toBe(`android:${FCM}`);
    expect(await fx.redis.get(`device_${alice}`)).toBeNull();
    expect(await fx.redis.dbsize()).toBe(2);
  });

  it('stores quote and SQL-looking tokens verbatim (printable ASCII is a token)', async () => {
    const { alice } = fx.ids;
    const odd = "x';DROP_TABLE--\"*?{}";
    await register(alice, IOS, odd);
    expect(await fx.redis.get(`device_${alice}`)).toBe(`ios:${odd}`);
    expect((await lookup(alice)).userTokenInfo[0].token).toBe(odd);
  });
});

describe('GetDeviceToken (docs/FLOWS.md §4 step 4.6)', () => {
  it('returns pushable tokens with the client type and the 1:1 unread badge; users without one are absent', async () => {
    const { alice, bob, carol } = fx.ids;
    await register(alice, IOS, APNS);
    await register(bob, ANDROID, FCM);
    await fx.redis.set(`device_${carol}`, 'bare-token-of-a-pc');
    await fx.redis.hset(`unread_${alice}`, String(bob), '3', String(carol), '2');
    const rsp = await lookup(alice, bob, carol, 999999);
    expect(rsp.userTokenInfo).toEqual([
      expect.objectContaining({ userId: alice, userType: IOS, token: APNS, pushCount: 5, pushType: 1 }),
      expect.objectContaining({ userId: bob, userType: ANDROID, token: FCM, pushCount: 0, pushType: 1 }),
    ]);
    // required fields survive the wire
    expect(IM.Server.IMGetDeviceTokenRsp.decode(IM.Server.IMGetDeviceTokenRsp.encode(rsp).finish()).userTokenInfo).toHaveLength(2);
  });

  it('leaves out iOS tokens of do-not-disturb users during quiet hours (22:00–07:59), never Android ones', async () => {
    const { alice, bob } = fx.ids;
    await register(alice, IOS, APNS);
    await register(bob, ANDROID, FCM);
    await fx.pool.query('UPDATE IMUser SET push_shield_status = 1 WHERE id IN (?)', [[alice, bob]]);
    expect((await lookup(alice, bob)).userTokenInfo.map((t) => t.userId)).toEqual([alice, bob]);
    clock = new Date(2024, 0, 15, 23, 30, 0);
    expect((await lookup(alice, bob)).userTokenInfo.map((t) => t.userId)).toEqual([bob]);
    expect(inQuietHours(new Date(2024, 0, 15, 7, 59))).toBe(true);
    expect(inQuietHours(new Date(2024, 0, 15, 8, 0))).toBe(false);
  });

  it('refuses absurdly many users', async () => {
    const many = Array.from({ length: 6000 }, (_, i) => i + 1);
    await expect(lookup(...many)).rejects.toBeInstanceOf(RequestError);
  });
});

describe('PushShield / QueryPushShield (N2)', () => {
  it('stores the status, bumps updated, and the query reads it back', async () => {
    const { carol } = fx.ids;
    await fx.pool.query('UPDATE IMUser SET updated = 1000 WHERE id = ?', [carol]);
    expect(await shield.set(IM.Login.IMPushShieldReq.create({ userId: carol, shieldStatus: 1 }))).toMatchObject({
      userId: carol,
      resultCode: 0,
      shieldStatus: 1,
    });
    const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT push_shield_status, updated FROM IMUser WHERE id = ?', [carol]);
    expect(Number(rows[0].push_shield_status)).toBe(1);
    expect(Number(rows[0].updated)).toBeGreaterThan(1000);
    expect(await shield.query(IM.Login.IMQueryPushShieldReq.create({ userId: carol }))).toMatchObject({ resultCode: 0, shieldStatus: 1 });
    await shield.set(IM.Login.IMPushShieldReq.create({ userId: carol, shieldStatus: 0 }));
    expect((await shield.query(IM.Login.IMQueryPushShieldReq.create({ userId: carol }))).shieldStatus).toBe(0);
  });

  it('refuses a status other than 0/1 and unknown users with result 1, storing nothing', async () => {
    const { dave } = fx.ids;
    for (const shieldStatus of [2, 255, 4294967295]) {
      const rsp = await shield.set(IM.Login.IMPushShieldReq.create({ userId: dave, shieldStatus }));
      expect(rsp.resultCode).toBe(1);
    }
    expect((await shield.query(IM.Login.IMQueryPushShieldReq.create({ userId: dave }))).shieldStatus).toBe(0);
    expect((await shield.set(IM.Login.IMPushShieldReq.create({ userId: 999999, shieldStatus: 1 }))).resultCode).toBe(1);
    expect((await shield.query(IM.Login.IMQueryPushShieldReq.create({ userId: 999999 }))).resultCode).toBe(1);
  });
});
