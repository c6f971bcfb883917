// The send API (services/http-api, docs/HTTP-API.md) end to end: the service
// as a real process beside a real cluster (db-proxy on MariaDB and Redis,
// route, a gateway) and TeamTalk clients on the wire. What an integrator and
// the chat users see: a message sent by API arrives as IMMsgData and can be
// answered, waits as unread/history for an offline user, reaches a group's
// online members; the JSON errors (401, 404, 400, 429) and a retried request
// stored once.
import { readFileSync } from 'node:fs';
import type { RowDataPacket } from 'mysql2/promise';
import type { TeamTalkClient } from '@tiertalk/client';
import { IM, decryptContent } from '@tiertalk/proto';
import { GatewayInfo, HttpApiService, testEtcd } from '@tiertalk/testkit';
import { loggedIn, nextMessage, storedMessages, userId } from './helpers';
import { e2eSuite } from './suite';
import { parseExposition, sumOf } from './prometheus-text';

jest.setTimeout(120_000);

const TOKEN = 'e2e-http-api-token-0123456789abcdef01234567';
const { SESSION_TYPE_SINGLE, SESSION_TYPE_GROUP } = IM.BaseDefine.SessionType;
const { MSG_TYPE_GROUP_TEXT } = IM.BaseDefine.MsgType;

const suite = e2eSuite('http-api', { dbProxy: 1, route: 1, msg: 1 });
const gw = (): GatewayInfo => suite.gateway(0);
let api: HttpApiService;
const ids: Record<'alice' | 'bob' | 'carol' | 'dave' | 'system', number> = { alice: 0, bob: 0, carol: 0, dave: 0, system: 0 };

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error_code: number; error_msg: string; error?: { code: string; message: string } };
}

/** POST a JSON body; `token` null: no Authorization header at all. */
async function post(base: string, path: string, body: unknown, opts: { token?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
  const token = opts.token === undefined ? TOKEN : opts.token;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

const send = (body: unknown, opts?: Parameters<typeof post>[3]): Promise<Answer> => post(api.url, '/query/SendMessage', body, opts);

async function login(name: keyof typeof ids): Promise<TeamTalkClient> {
  const c = await loggedIn(gw(), name);
  suite.track(c);
  return c;
}

/** The text: the API encrypts like a stock TeamTalk client (docs/PROTOCOL.md §5); the SDK sends plain text. */
const text = (m: { msgData: Uint8Array }): string => decryptContent(m.msgData) ?? Buffer.from(m.msgData).toString('utf8');

beforeAll(async () => {
  api = await HttpApiService.start(suite.cluster, { token: TOKEN });
  for (const name of Object.keys(ids) as Array<keyof typeof ids>) ids[name] = await userId(suite.pool, name);
});

afterAll(async () => {
  await api?.stop();
});

describe('sending', () => {
  it('delivers a message sent as a user to the logged-in receiver, who can reply', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const arriving = nextMessage(bob);
    const res = await send({ from_user_id: ids.alice, to_session_id: ids.bob, msg_data: 'hello from the API' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ error_code: 0, from_user_id: ids.alice, to_session_id: ids.bob, msg_type: 1, delivered: true });
    const got = await arriving;
    expect(got).toMatchObject({ fromUserId: ids.alice, toSessionId: ids.bob, msgId: res.body.msg_id });
    expect(text(got)).toBe('hello from the API');

    // bob answers with his TeamTalk client; alice's client gets it like any message.
    const reply = nextMessage(alice);
    const ack = await bob.sendText(ids.alice, 'got it');
    expect(ack.msgId).toBe(Number(res.body.msg_id) + 1);
    expect(text(await reply)).toBe('got it');
  });

  it('sends as the system user (from_user_id 0), whom clients can name', async () => {
    const bob = await login('bob');
    const arriving = nextMessage(bob);
    const res = await send({ to_user_id: ids.bob, msg_data: 'maintenance at 22:00' }, { token: null, headers: {} });
    // No Authorization header: a TeamTalk integration sends the token as app_key instead.
    expect(res.status).toBe(401);
    const viaAppKey = await post(api.url, '/query/SendMessage', { app_key: TOKEN, to_user_id: ids.bob, msg_data: 'maintenance at 22:00' }, { token: null });
    expect(viaAppKey.status).toBe(200);
    expect(viaAppKey.body.from_user_id).toBe(ids.system);
    const got = await arriving;
    expect(got.fromUserId).toBe(ids.system);
    expect(text(got)).toBe('maintenance at 22:00');
    const [who] = await bob.usersInfo([ids.system]);
    expect(who).toMatchObject({ userId: ids.system, userNickName: 'System', userRealName: 'system' });
  });

  it('leaves a message for an offline user in unread counts and history', async () => {
    const res = await send({ from_user_id: ids.dave, to_session_id: ids.carol, msg_data: 'read me later' });
    expect(res.status).toBe(200);
    const carol = await login('carol');
    const unread = (await carol.unreadCounts()).unreadinfoList.find((u) => u.sessionType === SESSION_TYPE_SINGLE && u.sessionId === ids.dave);
    expect(unread).toMatchObject({ unreadCnt: 1, latestMsgId: res.body.msg_id, latestMsgFromUserId: ids.dave });
    const history = await carol.messageList(SESSION_TYPE_SINGLE, ids.dave);
    expect(history.msgList.map((m) => [m.msgId, m.fromSessionId, decryptContent(m.msgData)])).toEqual([[res.body.msg_id, ids.dave, 'read me later']]);
  });

  it('stores a retried request with the same idempotency key once, and answers both with its id', async () => {
    const before = (await storedMessages(suite.pool, ids.alice, ids.carol)).length;
    const body = { from_user_id: ids.alice, to_session_id: ids.carol, msg_data: 'invoice #42 is paid' };
    const first = await send(body, { headers: { 'idempotency-key': 'invoice-42-paid' } });
    const retry = await send(body, { headers: { 'idempotency-key': 'invoice-42-paid' } });
    // The same key in the body (TeamTalk-style field) is the same request too.
    const third = await send({ ...body, idempotency_key: 'invoice-42-paid' });
    expect([first.status, retry.status, third.status]).toEqual([200, 200, 200]);
    expect(retry.body.msg_id).toBe(first.body.msg_id);
    expect(third.body.msg_id).toBe(first.body.msg_id);
    const stored = await storedMessages(suite.pool, ids.alice, ids.carol);
    expect(stored.length).toBe(before + 1);
    // Retries racing each other (a client that gave up waiting too early) are one message too.
    const racing = await Promise.all([1, 2, 3].map(() => send({ ...body, msg_data: 'invoice #43 is paid' }, { headers: { 'idempotency-key': 'invoice-43-paid' } })));
    expect(new Set(racing.map((r) => r.body.msg_id)).size).toBe(1);
    expect((await storedMessages(suite.pool, ids.alice, ids.carol)).length).toBe(before + 2);
    // Without a key, the same body is a new message.
    const again = await send(body);
    expect(Number(again.body.msg_id)).toBeGreaterThan(Number(first.body.msg_id));
    expect((await storedMessages(suite.pool, ids.alice, ids.carol)).length).toBe(before + 3);
  });
});

describe('groups', () => {
  it('creates a group owned by the system, sends to its online members, and changes members', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const told = new Promise<IM.Group.IMGroupChangeMemberNotify>((resolve) => alice.once('groupChangeMember', resolve));
    const created = await post(api.url, '/query/CreateGroup', { req_user_id: 0, group_name: 'announcements', group_type: 1, group_avatar: '', user_id_list: [ids.alice, ids.bob] });
    expect(created.status).toBe(200);
    const groupId = Number(created.body.group_id);
    expect(groupId).toBeGreaterThan(0);
    expect(created.body.user_id_list).toEqual([ids.system, ids.alice, ids.bob]);
    expect((await told).groupId).toBe(groupId);

    const toAlice = nextMessage(alice);
    const toBob = nextMessage(bob);
    const sent = await send({ to_session_id: groupId, msg_type: MSG_TYPE_GROUP_TEXT, msg_data: 'welcome, everyone' });
    expect(sent.status).toBe(200);
    for (const got of await Promise.all([toAlice, toBob])) {
      expect(got).toMatchObject({ fromUserId: ids.system, toSessionId: groupId, msgId: sent.body.msg_id, msgType: MSG_TYPE_GROUP_TEXT });
      expect(text(got)).toBe('welcome, everyone');
    }
    // A member answers in the group with a stock client.
    const answer = nextMessage(alice);
    expect((await bob.groups.sendGroupText(groupId, 'thanks')).msgId).toBe(Number(sent.body.msg_id) + 1);
    expect(text(await answer)).toBe('thanks');

    const added = await post(api.url, '/query/ChangeMembers', { req_user_id: 0, group_id: groupId, modify_type: 1, user_id_list: [ids.carol] });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ error_code: 0, group_id: groupId, chg_user_id_list: [ids.carol] });
    expect(added.body.cur_user_id_list).toEqual(expect.arrayContaining([ids.system, ids.alice, ids.bob, ids.carol]));
    const removed = await post(api.url, '/query/ChangeMembers', { group_id: groupId, modify_type: 2, user_id_list: [ids.bob] });
    expect(removed.body.cur_user_id_list).not.toContain(ids.bob);

    // bob is out: a group message as bob is refused; carol (now a member, offline) finds the system's message unread.
    const asBob = await send({ from_user_id: ids.bob, to_session_id: groupId, msg_type: MSG_TYPE_GROUP_TEXT, msg_data: 'still here?' });
    expect(asBob.status).toBe(409);
    expect(asBob.body.error).toMatchObject({ code: 'refused' });
    expect(asBob.body.error?.message).toContain('not a member');
    await send({ to_session_id: groupId, msg_type: MSG_TYPE_GROUP_TEXT, msg_data: 'for carol too' });
    const carol = await login('carol');
    const unread = (await carol.unreadCounts()).unreadinfoList.find((u) => u.sessionType === SESSION_TYPE_GROUP && u.sessionId === groupId);
    expect(unread?.unreadCnt).toBeGreaterThanOrEqual(1);
  });

  it('answers a change the group rules refuse with 409 and TeamTalk code 11, an unknown group with 404', async () => {
    const created = await post(api.url, '/query/CreateGroup', { req_user_id: ids.alice, group_name: 'alice team', group_type: 1, group_avatar: '', user_id_list: [ids.bob, ids.carol] });
    expect(created.body.user_id_list).toEqual([ids.alice, ids.bob, ids.carol]);
    // The system is no member of alice's group: told how to make it one.
    const asSystem = await send({ to_session_id: created.body.group_id, msg_type: MSG_TYPE_GROUP_TEXT, msg_data: 'hello?' });
    expect(asSystem.status).toBe(409);
    expect(asSystem.body.error?.message).toBe(
      `group message refused: the system sender (user ${ids.system}) is not a member of group ${String(created.body.group_id)}; add it with /query/ChangeMembers, or create groups with req_user_id 0`,
    );
    // A plain member may not remove another one (db-proxy's group rules, as for a client).
    const byMember = await post(api.url, '/query/ChangeMembers', { req_user_id: ids.bob, group_id: created.body.group_id, modify_type: 2, user_id_list: [ids.carol] });
    expect(byMember.status).toBe(409);
    expect(byMember.body).toMatchObject({ error_code: 11, error: { code: 'refused' } });
    const unknown = await post(api.url, '/query/ChangeMembers', { req_user_id: 0, group_id: 987654, modify_type: 1, user_id_list: [ids.carol] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.code).toBe('not_found');
  });
});

describe('errors', () => {
  it('answers a wrong or missing token with 401 and a JSON error, before looking at the path', async () => {
    for (const token of ['wrong-token', null]) {
      const res = await post(api.url, '/query/SendMessage', { to_user_id: ids.bob, msg_data: 'x' }, { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      expect(res.body).toMatchObject({ error_code: 2, error: { code: 'unauthorized' } });
    }
    expect((await post(api.url, '/query/Nothing', {}, { token: 'wrong-token' })).status).toBe(401);
    expect((await post(api.url, '/query/Nothing', {})).body).toMatchObject({ error_code: 5, error: { code: 'not_found', message: 'no such endpoint: /query/Nothing' } });
  });

  it('names an unknown receiver or sender, and a bad field, without storing anything', async () => {
    const toGhost = await send({ from_user_id: ids.alice, to_user_id: 987654, msg_data: 'anyone?' });
    expect(toGhost.status).toBe(404);
    expect(toGhost.body).toMatchObject({ error_code: 4, error: { code: 'not_found', message: 'no receiver with user id 987654' } });
    const fromGhost = await send({ from_user_id: 987655, to_user_id: ids.alice, msg_data: 'hi' });
    expect(fromGhost.body.error).toMatchObject({ code: 'not_found', message: 'no sender with user id 987655' });
    const noText = await send({ to_user_id: ids.alice });
    expect(noText.status).toBe(400);
    expect(noText.body).toMatchObject({ error_code: 1, error: { code: 'bad_request' } });
    expect(noText.body.error?.message).toMatch(/^msg_data: /);
    const tooLong = await send({ to_user_id: ids.alice, msg_data: 'é'.repeat(2000) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error?.message).toMatch(/^msg_data: too long: 4000 bytes of UTF-8/);
    const notJson = await fetch(`${api.url}/query/SendMessage`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{oops' });
    expect(notJson.status).toBe(400);
    const [rows] = await suite.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMRelationShip WHERE smallId = 987654 OR bigId = 987654 OR smallId = 987655 OR bigId = 987655');
    expect(Number(rows[0].n)).toBe(0);

    const metrics = parseExposition(await (await fetch(`${api.metricsUrl}/metrics`)).text());
    expect(sumOf(metrics, 'tt_http_api_requests_total', { status: '404' })).toBeGreaterThanOrEqual(2);
    expect(sumOf(metrics, 'tt_http_api_requests_total', { status: '400' })).toBeGreaterThanOrEqual(2);
    expect(sumOf(metrics, 'tt_http_api_messages_total', { kind: 'single', result: 'sent' })).toBeGreaterThanOrEqual(1);
  });

  it('answers 429 with Retry-After over TT_HTTP_API_RATE_PER_SEC, is ready and registered like every service, and leaves etcd on SIGTERM', async () => {
    const slow = await HttpApiService.start(suite.cluster, { token: TOKEN, ratePerSec: 3 });
    const key = `${suite.cluster.prefix}/services/http-api/http-api-${slow.port}`;
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => post(slow.url, '/query/SendMessage', { to_user_id: ids.alice, msg_data: 'burst' }, { token: 'wrong-token' })));
      const limited = answers.filter((a) => a.status === 429);
      expect(answers.filter((a) => a.status === 401).length).toBeLessThanOrEqual(3);
      expect(limited.length).toBeGreaterThanOrEqual(5);
      expect(limited[0].headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(limited[0].body).toMatchObject({ error: { code: 'rate_limited' } });

      expect((await fetch(`${slow.metricsUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${slow.metricsUrl}/readyz`)).status).toBe(200);
      const etcd = testEtcd();
      try {
        const entry = JSON.parse((await etcd.get(key).string()) ?? '{}') as { addr?: string; meta?: { metricsPort?: number } };
        expect(entry).toMatchObject({ addr: `127.0.0.1:${slow.port}`, meta: { metricsPort: slow.metricsPort } });
        await slow.stop();
        // Deregistered before it exited, not left to its lease.
        expect(await etcd.get(key).string()).toBeNull();
        expect(readFileSync(slow.logFile, 'utf8')).toContain('"msg":"stopped"');
      } finally {
        etcd.close();
      }
    } finally {
      await slow.stop();
    }
  });
});
