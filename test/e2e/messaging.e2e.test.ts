// One cluster (db-proxy, route, two msg gateways, login) driven like a TeamTalk client would.
import { ClientError, TeamTalkClient } from '@tiertalk/client';
import { encodeFrame } from '@tiertalk/pdu';
import { CID, IM, SID } from '@tiertalk/proto';
import { GatewayInfo, waitFor } from '@tiertalk/testkit';
import {
  ANDROID,
  closedWithin,
  collectMessages,
  connect,
  createUser,
  DEMO_PASSWORD,
  nextMessage,
  PC,
  rawSocket,
  socketClosedWithin,
  storedMessages,
  userId,
} from './helpers';
import { textMarkerArrives } from './absence';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const suite = e2eSuite('messaging', { dbProxy: 1, route: 1, msg: 2, login: true });
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);

async function track<T extends TeamTalkClient>(p: Promise<T>): Promise<T> {
  const c = await p;
  suite.track(c);
  return c;
}

describe('login service', () => {
  it('hands out the least-loaded gateway as TeamTalk JSON', async () => {
    const res = await fetch(suite.cluster.msgServerUrl);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 0, msg: '', priorIP: '127.0.0.1', backupIP: '127.0.0.1' });
    expect(typeof body.port).toBe('string');
    const first = Number(body.port);
    expect([gw1().tcpPort, gw2().tcpPort]).toContain(first);

    // Load the chosen gateway; the next client is sent to the other one.
    const chosen = first === gw1().tcpPort ? gw1() : gw2();
    await suite.loggedIn(chosen, 'carol');
    await suite.loggedIn(chosen, 'dave');
    await waitFor(async () => {
      const again = (await (await fetch(suite.cluster.msgServerUrl)).json()) as Record<string, unknown>;
      return Number(again.port) !== first;
    }, 5000);
  });
});

describe('login', () => {
  it('logs a demo user in with TeamTalk password digest and returns the profile', async () => {
    const c = await track(connect(gw1()));
    const res = await c.login('alice', DEMO_PASSWORD, { clientType: PC });
    expect(res.resultCode).toBe(0);
    expect(res.userInfo?.userRealName).toBe('alice');
    expect(res.userInfo?.userNickName).toBe('Alice');
    expect(res.userInfo?.status).toBe(0);
    expect(res.serverTime).toBeGreaterThan(1_600_000_000);
  });

  it.each([
    ['a wrong password', 'alice', 'not-the-password'],
    ['an unknown user', 'mallory', DEMO_PASSWORD],
    ['a hostile user name', "x' OR '1'='1", "' OR '1'='1"],
  ])('refuses %s with result 6 and closes the connection', async (_what, name, password) => {
    const c = await track(connect(gw2()));
    const err = await c.login(name, password).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).resultCode).toBe(IM.BaseDefine.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED);
    expect(await closedWithin(c, 3000)).toBe(true);
  });

  it('lets a user inserted into IMUser by SQL log in at once', async () => {
    await createUser(suite.pool, 'frank', 'pw-frank', 'Zq9x');
    const c = await track(connect(gw1()));
    const res = await c.login('frank', 'pw-frank');
    expect(res.userInfo?.userRealName).toBe('frank');
  });

  it('kicks the older PC session of the same user on another gateway, and closes it', async () => {
    const first = await suite.loggedIn(gw1(), 'bob', PC);
    const mobile = await suite.loggedIn(gw1(), 'bob', ANDROID);
    const kicked = new Promise<IM.Login.IMKickUser>((resolve) => first.once('kick', resolve));
    await suite.loggedIn(gw2(), 'bob', PC);
    const kick = await kicked;
    expect(kick.kickReason).toBe(IM.BaseDefine.KickReasonType.KICK_REASON_DUPLICATE_USER);
    expect(await closedWithin(first, 3000)).toBe(true);
    // the mobile session is another class and stays
    await expect(mobile.heartbeat()).resolves.toBeUndefined();
  });
});

describe('1:1 messages', () => {
  it('are ACKed to the sender, delivered across gateways and stored', async () => {
    const alice = await suite.loggedIn(gw1(), 'alice');
    const bob = await suite.loggedIn(gw2(), 'bob');
    const [aliceId, bobId] = [await userId(suite.pool, 'alice'), await userId(suite.pool, 'bob')];
    const before = (await storedMessages(suite.pool, aliceId, bobId)).length;

    const incoming = nextMessage(bob);
    const ack = await alice.sendText(bobId, 'hello across gateways');
    expect(ack.msgId).toBe(before + 1);
    const m = await incoming;
    expect(m.fromUserId).toBe(aliceId);
    expect(m.toSessionId).toBe(bobId);
    expect(m.msgId).toBe(ack.msgId);
    expect(Buffer.from(m.msgData).toString()).toBe('hello across gateways');
    expect(Math.abs(m.createTime - Date.now() / 1000)).toBeLessThan(5);

    const stored = await storedMessages(suite.pool, aliceId, bobId);
    expect(stored[stored.length - 1]).toEqual({ msgId: ack.msgId, fromId: aliceId, content: 'hello across gateways' });

    // ids are shared by both directions of the pair
    const back = nextMessage(alice);
    const reply = await bob.sendText(aliceId, 'hi alice');
    expect(reply.msgId).toBe(ack.msgId + 1);
    expect((await back).msgId).toBe(reply.msgId);
  });

  it('reach the sender\'s other device but not the sending connection', async () => {
    const alicePc = await suite.loggedIn(gw1(), 'alice', PC);
    const alicePhone = await suite.loggedIn(gw2(), 'alice', ANDROID);
    const carol = await suite.loggedIn(gw2(), 'carol');
    const carolId = await userId(suite.pool, 'carol');
    const onPc = collectMessages(alicePc);
    const toPhone = nextMessage(alicePhone);
    const toCarol = nextMessage(carol);
    const ack = await alicePc.sendText(carolId, 'synced');
    expect((await toPhone).msgId).toBe(ack.msgId);
    expect((await toCarol).msgId).toBe(ack.msgId);
    // Routed to both gateways already: a later message to alice reaches alicePc after any copy of it.
    await textMarkerArrives(carol, (await userId(suite.pool, 'alice')), alicePc);
    expect(onPc.filter((m) => Buffer.from(m.msgData).toString() === 'synced')).toHaveLength(0);
  });

  it('ignore what TeamTalk drops: empty text and messages to oneself get no ACK and are not stored', async () => {
    const alice = await suite.loggedIn(gw1(), 'alice');
    const aliceId = await userId(suite.pool, 'alice');
    await expect(alice.sendText(aliceId, 'me')).rejects.toMatchObject({ code: 'ACK_TIMEOUT' });
    expect(await storedMessages(suite.pool, aliceId, aliceId)).toHaveLength(0);
  }, 20_000);
});

describe('connection upkeep and bad input', () => {
  it('echoes heartbeats and answers client time', async () => {
    const c = await suite.loggedIn(gw1(), 'dave');
    await expect(c.heartbeat()).resolves.toBeUndefined();
    const rsp = await c.request(
      CID.CID_MSG_TIME_REQUEST,
      IM.Message.IMClientTimeReq.encode({}).finish(),
      CID.CID_MSG_TIME_RESPONSE,
      (b) => IM.Message.IMClientTimeRsp.decode(b),
    );
    expect(Math.abs(rsp.serverTime - Date.now() / 1000)).toBeLessThan(5);
  });

  it('ignores commands other than login and heartbeat before login', async () => {
    const c = await track(connect(gw1()));
    const bobId = await userId(suite.pool, 'bob');
    const before = await storedMessages(suite.pool, 0, bobId);
    const pdus: number[] = [];
    c.on('pdu', (p: { commandId: number }) => pdus.push(p.commandId));
    c.sendFrame(
      CID.CID_MSG_DATA,
      7,
      IM.Message.IMMsgData.encode({ fromUserId: 1, toSessionId: bobId, msgId: 0, createTime: 0, msgType: 1, msgData: Buffer.from('sneaky') }).finish(),
    );
    // Markers: the heartbeat's answer (the gateway answers a connection's frames in order), then a
    // message of the same connection once logged in: with one db-proxy and one commit lane (the
    // default), its ACK means anything handed on before it was committed too.
    await expect(c.heartbeat()).resolves.toBeUndefined();
    expect(pdus.filter((cid) => cid !== CID.CID_OTHER_HEARTBEAT)).toEqual([]);
    await c.login('alice', DEMO_PASSWORD, { clientType: PC });
    await c.sendText(bobId, 'marker');
    expect(await storedMessages(suite.pool, 0, bobId)).toEqual(before);
  });

  it('keeps the connection on an undecodable body or an unknown command', async () => {
    const c = await suite.loggedIn(gw1(), 'carol');
    c.sendFrame(CID.CID_MSG_DATA, 9, Buffer.from([0xff, 0xff, 0xff, 0x01]));
    c.sendFrame(0x0999, 10, Buffer.alloc(0));
    await expect(c.heartbeat()).resolves.toBeUndefined();
  });

  it('closes only the connection that sends a malformed frame', async () => {
    const bob = await suite.loggedIn(gw2(), 'bob');
    const alice = await suite.loggedIn(gw1(), 'alice');
    const bobId = await userId(suite.pool, 'bob');

    const zero = await rawSocket(gw2().tcpPort);
    zero.write(Buffer.alloc(16)); // length 0
    const huge = await rawSocket(gw2().tcpPort);
    const header = encodeFrame(SID.SID_OTHER, CID.CID_OTHER_HEARTBEAT, 1, Buffer.alloc(0));
    header.writeUInt32BE(64 * 1024 * 1024, 0); // declares 64 MiB
    huge.write(header);
    const short = await rawSocket(gw1().tcpPort);
    const tiny = Buffer.alloc(16);
    tiny.writeUInt32BE(5, 0); // shorter than the header itself
    short.write(tiny);
    expect(await socketClosedWithin(zero, 3000)).toBe(true);
    expect(await socketClosedWithin(huge, 3000)).toBe(true);
    expect(await socketClosedWithin(short, 3000)).toBe(true);

    const incoming = nextMessage(bob);
    const ack = await alice.sendText(bobId, 'still here');
    expect((await incoming).msgId).toBe(ack.msgId);
  });
});

describe('WebSocket', () => {
  it('carries the same PDUs: login, send, deliver', async () => {
    const alice = await track(TeamTalkClient.connect({ host: '127.0.0.1', port: gw1().wsPort, transport: 'ws', heartbeatMs: 0 }));
    await alice.login('alice', DEMO_PASSWORD);
    const dave = await track(TeamTalkClient.connect({ host: '127.0.0.1', port: gw2().wsPort, transport: 'ws', heartbeatMs: 0 }));
    await dave.login('dave', DEMO_PASSWORD);
    const daveId = await userId(suite.pool, 'dave');
    const incoming = nextMessage(dave);
    const ack = await alice.sendText(daveId, 'over websocket');
    const m = await incoming;
    expect(m.msgId).toBe(ack.msgId);
    expect(Buffer.from(m.msgData).toString()).toBe('over websocket');
  });
});
