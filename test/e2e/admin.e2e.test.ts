// The operator's administration end to end (docs/ADMIN.md): the admin HTTP
// API and the admin CLI, as real processes, against a real cluster whose
// db-proxy writes MariaDB. What an operator and a TeamTalk user see: status
// codes and exit codes, nothing written on a refusal, a created user logs in,
// a new password replaces the old one, a disabled user is kicked and cannot
// log in again.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { ClientError, TeamTalkClient } from '@tiertalk/client';
import type { IM } from '@tiertalk/proto';
import { AdminService, GatewayInfo, repoRoot, testConfig, testEtcd, testPki, tlsEnv, waitFor } from '@tiertalk/testkit';
import { closedWithin, connect, createUser, DEMO_PASSWORD, md5hex } from './helpers';
import { e2eSuite } from './suite';
import { parseExposition, sumOf, type Exposition } from './prometheus-text';

jest.setTimeout(120_000);

const TOKEN = 'e2e-admin-token-0123456789abcdef0123456789';
const CLI = path.join(repoRoot, 'services', 'admin', 'dist', 'cli.js');

const suite = e2eSuite('admin', { dbProxy: 1, route: 1, msg: 1, serviceEnv: { 'db-proxy': { TT_ARGON2_MEMORY_KIB: '4096' } } });
const gw = (): GatewayInfo => suite.gateway(0);
let admin: AdminService;
let tmp: string;

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

/** `token` null: no Authorization header at all. */
async function api(method: string, urlPath: string, body?: unknown, token: string | null = TOKEN): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${admin.url}${urlPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

async function login(name: string, password: string): Promise<TeamTalkClient> {
  const c = await connect(gw());
  suite.track(c);
  await c.login(name, password);
  return c;
}

async function loginRefusal(name: string, password: string): Promise<string> {
  try {
    await login(name, password);
    return 'logged in';
  } catch (err) {
    return err instanceof ClientError ? err.code : String(err);
  }
}

async function count(sql: string, args: unknown[]): Promise<number> {
  const [rows] = await suite.pool.query<RowDataPacket[]>(sql, args);
  return Number(rows[0].n);
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], stdin = ''): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', ...tlsEnv(testPki(), 'admin'), TT_ETCD_PREFIX: suite.cluster.prefix, TT_ETCD_ENDPOINTS: testConfig.etcdEndpoints.join(',') }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout: String(stdout), stderr: String(stderr) }),
    );
    child.stdin?.end(stdin);
  });
}

let seq = 0;
const uniqueName = (prefix: string): string => `${prefix}${process.pid % 1000}x${++seq}`;

beforeAll(async () => {
  admin = await AdminService.start(suite.cluster, { token: TOKEN });
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tt-admin-e2e-'));
});

afterAll(async () => {
  await admin?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('HTTP API authentication', () => {
  it('answers 401 without the token, with a wrong one, or another scheme, and writes nothing', async () => {
    const name = uniqueName('noauth');
    const attempt = { name, password: 'pw-123456', departId: 1 };
    for (const token of [null, 'wrong-token', `${TOKEN}x`, TOKEN.slice(0, -1), '']) {
      const r = await api('POST', '/v1/users', attempt, token);
      expect([r.status, r.body.error?.code]).toEqual([401, 'unauthorized']);
    }
    const basic = await fetch(`${admin.url}/v1/users`, { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toContain('Bearer');
    expect(await count('SELECT COUNT(*) AS n FROM IMUser WHERE name = ?', [name])).toBe(0);
  });

  it('refuses to start without a token, or with a short one', async () => {
    const start = (env: Record<string, string>): Promise<{ code: number | null; out: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [path.join(repoRoot, 'services', 'admin', 'dist', 'main.js')], {
          env: { PATH: process.env.PATH ?? '', TT_ETCD_ENDPOINTS: 'http://127.0.0.1:1', ...tlsEnv(testPki(), 'admin'), ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });
    const none = await start({});
    expect(none.code).toBe(2);
    expect(none.out).toContain('TT_ADMIN_TOKEN');
    const short = await start({ TT_ADMIN_TOKEN: 'short' });
    expect(short.code).toBe(2);
    expect(short.out).toContain('at least 32 characters');
    expect(short.out).not.toContain('short"');
  });
});

describe('departments over HTTP', () => {
  it('creates, lists and renames; a taken name is 409, an unknown department 404, bad input 400', async () => {
    const name = uniqueName('Dept');
    const created = await api('POST', '/v1/departments', { name, priority: 3 });
    expect(created.status).toBe(201);
    const departId = Number(created.body.departId);
    expect(created.body).toMatchObject({ name, parentId: 0, priority: 3, users: 0 });

    expect((await api('POST', '/v1/departments', { name })).body.error?.code).toBe('conflict');
    expect((await api('POST', '/v1/departments', { name: `${name}-child`, parentId: 99999999 })).status).toBe(404);
    expect(await count('SELECT COUNT(*) AS n FROM IMDepart WHERE departName = ?', [`${name}-child`])).toBe(0);
    expect((await api('POST', '/v1/departments', { name: '' })).status).toBe(400);
    expect((await api('POST', '/v1/departments', { name: 'x', colour: 'red' })).status).toBe(400);

    const other = await api('POST', '/v1/departments', { name: `${name}-2`, parentId: departId });
    expect(other.status).toBe(201);
    const renamed = await api('PATCH', `/v1/departments/${departId}`, { name: `${name}-renamed` });
    expect([renamed.status, renamed.body.name]).toEqual([200, `${name}-renamed`]);
    const taken = await api('PATCH', `/v1/departments/${departId}`, { name: `${name}-2` });
    expect([taken.status, taken.body.error?.code]).toEqual([409, 'conflict']);
    expect((await api('PATCH', '/v1/departments/99999999', { name: 'nowhere' })).status).toBe(404);
    expect((await api('PATCH', '/v1/departments/abc', { name: 'nowhere' })).status).toBe(400);

    const list = await api('GET', '/v1/departments');
    const names = (list.body as unknown as Array<{ departId: number; name: string }>).map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining([`${name}-renamed`, `${name}-2`]));
  });
});

describe('users over HTTP', () => {
  it('a created user logs in with a TeamTalk client; a duplicate name is 409; refusals write nothing', async () => {
    const name = uniqueName('newbie');
    const noDept = await api('POST', '/v1/users', { name, password: 'first-pw', departId: 99999999 });
    expect([noDept.status, noDept.body.error?.code]).toEqual([404, 'not_found']);
    for (const bad of [{ name, departId: 1 }, { name, password: 'x', departId: 1, sex: 7 }, { name, password: 'x', departId: 1, admin: true }, { name: 'x'.repeat(33), password: 'x', departId: 1 }]) {
      const r = await api('POST', '/v1/users', bad);
      expect([r.status, r.body.error?.code]).toEqual([400, 'bad_request']);
    }
    const notJson = await fetch(`${admin.url}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"name":' });
    expect(notJson.status).toBe(400);
    expect(await count('SELECT COUNT(*) AS n FROM IMUser WHERE name = ?', [name])).toBe(0);

    const created = await api('POST', '/v1/users', { name, password: 'first-pw', departId: 1, nick: 'New Bie', sex: 2, email: 'nb@example.org' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, nick: 'New Bie', departId: 1, state: 'active', passwordScheme: 'argon2id' });
    expect(JSON.stringify(created.body)).not.toContain('first-pw');
    const id = Number(created.body.userId);

    const me = await login(name, 'first-pw');
    expect(me.userId).toBe(id);

    const dup = await api('POST', '/v1/users', { name, password: 'other', departId: 1 });
    expect([dup.status, dup.body.error?.code]).toEqual([409, 'conflict']);
    expect(await count('SELECT COUNT(*) AS n FROM IMUser WHERE name = ?', [name])).toBe(1);

    expect((await api('GET', `/v1/users/${name}`)).body).toMatchObject({ userId: id, email: 'nb@example.org' });
    expect((await api('GET', `/v1/users/${id}`)).body).toMatchObject({ name });
    expect((await api('GET', '/v1/users/nobody-here-at-all')).status).toBe(404);
    const list = await api('GET', '/v1/users?dept=1');
    expect((list.body as unknown as Array<{ userId: number }>).map((u) => u.userId)).toContain(id);
  });

  it('two creates of one name at once: one 201, one 409, one row', async () => {
    const name = uniqueName('racer');
    const answers = await Promise.all([1, 2, 3].map((i) => api('POST', '/v1/users', { name, password: `pw-${i}`, departId: 1 })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
    expect(await count('SELECT COUNT(*) AS n FROM IMUser WHERE name = ?', [name])).toBe(1);
    const dname = uniqueName('RaceDept');
    const depts = await Promise.all([1, 2].map(() => api('POST', '/v1/departments', { name: dname })));
    expect(depts.map((a) => a.status).sort()).toEqual([201, 409]);
  });

  it('set-password: the new password works and the old one no longer does', async () => {
    const name = uniqueName('pwuser');
    expect((await api('POST', '/v1/users', { name, password: 'old-password', departId: 1 })).status).toBe(201);
    expect((await api('PUT', `/v1/users/${name}/password`, { password: 'new-password' })).status).toBe(200);
    expect(await loginRefusal(name, 'old-password')).toBe('LOGIN_REFUSED');
    expect((await login(name, 'new-password')).userId).toBeGreaterThan(0);
    expect((await api('PUT', '/v1/users/no-such-user-x/password', { password: 'x' })).status).toBe(404);

    // An account made by TeamTalk's tools (md5 in IMUser only): afterwards no TeamTalk server accepts the old password either.
    const legacy = uniqueName('legacy');
    const legacyId = await createUser(suite.pool, legacy);
    expect((await api('GET', `/v1/users/${legacyId}`)).body.passwordScheme).toBe('teamtalk-md5');
    const changed = await api('PUT', `/v1/users/${legacyId}/password`, { password: 'replaced-pw' });
    expect([changed.status, changed.body.passwordScheme]).toEqual([200, 'argon2id']);
    const [[row]] = await suite.pool.query<RowDataPacket[]>('SELECT password, salt FROM IMUser WHERE id = ?', [legacyId]);
    expect(row.password).not.toBe(md5hex(md5hex(DEMO_PASSWORD) + String(row.salt)));
    expect(await loginRefusal(legacy, DEMO_PASSWORD)).toBe('LOGIN_REFUSED');
    expect((await login(legacy, 'replaced-pw')).userId).toBe(legacyId);
    expect((await api('PUT', `/v1/users/${name}/password`, {})).status).toBe(400);
  });

  it('disable closes the online user\'s session and refuses the next login; enable lets them in again', async () => {
    const name = uniqueName('leaver');
    const id = Number((await api('POST', '/v1/users', { name, password: 'pw-leaver', departId: 1 })).body.userId);
    const online = await login(name, 'pw-leaver');
    const kicked = new Promise<IM.Login.IMKickUser>((resolve) => online.once('kick', resolve));

    const disabled = await api('POST', `/v1/users/${id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ state: 'disabled', status: 3, kicked: 1 });
    expect((await kicked).userId).toBe(id);
    expect(await closedWithin(online, 5000)).toBe(true);
    expect(await loginRefusal(name, 'pw-leaver')).toBe('LOGIN_REFUSED');
    // Hidden from the active list, shown with ?all=true.
    expect(((await api('GET', '/v1/users')).body as unknown as Array<{ userId: number }>).map((u) => u.userId)).not.toContain(id);
    expect(((await api('GET', '/v1/users?all=true')).body as unknown as Array<{ userId: number }>).map((u) => u.userId)).toContain(id);

    expect((await api('POST', `/v1/users/${id}/enable`)).body).toMatchObject({ state: 'active' });
    expect((await login(name, 'pw-leaver')).userId).toBe(id);
  });

  it('moves a user to another department; an unknown department is 404 and changes nothing', async () => {
    const name = uniqueName('mover');
    const id = Number((await api('POST', '/v1/users', { name, password: 'pw', departId: 1 })).body.userId);
    const dept = Number((await api('POST', '/v1/departments', { name: uniqueName('Moves') })).body.departId);
    expect((await api('PUT', `/v1/users/${id}/department`, { departId: dept })).body).toMatchObject({ departId: dept });
    expect((await api('PUT', `/v1/users/${id}/department`, { departId: 99999999 })).status).toBe(404);
    expect(await count('SELECT departId AS n FROM IMUser WHERE id = ?', [id])).toBe(dept);
  });

  it('unknown endpoints are 404, wrong methods 405, as JSON', async () => {
    expect(await api('GET', '/v1/nothing')).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no such endpoint: /v1/nothing' } } });
    expect((await api('DELETE', '/v1/users')).body.error?.code).toBe('method_not_allowed');
  });
});

describe('groups over HTTP', () => {
  it('creates, changes and dismisses a group as its owner; a member may not dismiss it (409); gone is 404', async () => {
    const ids: number[] = [];
    for (const prefix of ['gowner', 'gmember', 'gextra']) ids.push(Number((await api('POST', '/v1/users', { name: uniqueName(prefix), password: 'pw', departId: 1 })).body.userId));
    const [owner, member, extra] = ids;
    const created = await api('POST', '/v1/groups', { name: 'http room', ownerId: owner, memberIds: [member] });
    expect(created.status).toBe(201);
    const groupId = Number(created.body.groupId);
    expect((await api('GET', `/v1/groups/${groupId}`)).body).toMatchObject({ groupId, groupName: 'http room', groupCreatorId: owner });
    expect((await api('POST', `/v1/groups/${groupId}/members`, { userIds: [extra] })).body).toMatchObject({ changed: [extra] });
    expect(((await api('GET', `/v1/groups/${groupId}/members`)).body as unknown as number[]).sort()).toEqual([owner, member, extra].sort());
    expect((await api('DELETE', `/v1/groups/${groupId}/members`, { userIds: [extra] })).status).toBe(200);
    expect((await api('PUT', `/v1/groups/${groupId}/admins/${member}`)).status).toBe(200);
    expect((await api('POST', `/v1/groups/${groupId}/mute`, { memberId: 'all', seconds: 60 })).status).toBe(200);
    expect((await api('POST', `/v1/groups/${groupId}/mute`, { memberId: 'all', seconds: 0 })).status).toBe(400);

    const byMember = await api('DELETE', `/v1/groups/${groupId}?as=${member}`);
    expect([byMember.status, byMember.body.error?.code]).toEqual([409, 'refused']);
    expect((await api('DELETE', `/v1/groups/${groupId}`)).status).toBe(200);
    expect((await api('GET', `/v1/groups/${groupId}/members`)).status).toBe(404);
  });
});

describe('CLI (spawned)', () => {
  it('creates a user from a password on stdin, shows it as JSON; refusals exit 1 and write nothing, usage errors exit 2', async () => {
    const name = uniqueName('cliuser');
    const created = await cli(['user', 'create', name, '--dept', '1', '--nick', 'Cli User'], 'cli-password\n');
    expect([created.code, created.stderr]).toEqual([0, '']);
    expect(created.stdout).toMatch(new RegExp(`^created user \\d+ ${name} "Cli User" department 1 active\\n$`));
    expect((await login(name, 'cli-password')).userId).toBeGreaterThan(0);

    const shown = await cli(['user', 'show', name, '--json']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name, nick: 'Cli User', state: 'active' });

    const dup = await cli(['user', 'create', name, '--dept', '1'], 'x\n');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('conflict');
    const other = uniqueName('cliother');
    const noDept = await cli(['user', 'create', other, '--dept', '99999999', '--json'], 'x\n');
    expect(noDept.code).toBe(1);
    expect(JSON.parse(noDept.stderr)).toEqual({ error: { code: 'not_found', message: 'no department 99999999' } });
    expect(await count('SELECT COUNT(*) AS n FROM IMUser WHERE name = ?', [other])).toBe(0);

    const onArgv = await cli(['user', 'create', other, '--dept', '1', '--password', 'visible']);
    expect(onArgv.code).toBe(2);
    expect(onArgv.stderr).toContain('shows in ps and shell history');
    expect((await cli(['user', 'create', other, '--dept', '1'], '')).code).toBe(2);
    expect((await cli(['user', 'frobnicate'])).code).toBe(2);
    expect(await count('SELECT COUNT(*) AS n FROM IMUser WHERE name = ?', [other])).toBe(0);
  });

  it('sets a password from --password-file, disables and enables, manages departments', async () => {
    const name = uniqueName('clipw');
    expect((await cli(['user', 'create', name, '--dept', '1'], 'before\n')).code).toBe(0);
    const file = path.join(tmp, 'pw');
    writeFileSync(file, 'after-change\n', { mode: 0o600 });
    const set = await cli(['user', 'set-password', name, '--password-file', file]);
    expect([set.code, set.stderr]).toEqual([0, '']);
    expect(await loginRefusal(name, 'before')).toBe('LOGIN_REFUSED');
    const online = await login(name, 'after-change');

    const disabled = await cli(['user', 'disable', name]);
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toContain('1 session(s) closed');
    expect(await closedWithin(online, 5000)).toBe(true);
    expect(await loginRefusal(name, 'after-change')).toBe('LOGIN_REFUSED');
    expect((await cli(['user', 'enable', name])).code).toBe(0);

    const dname = uniqueName('CliDept');
    const dept = await cli(['dept', 'create', dname, '--json']);
    expect(dept.code).toBe(0);
    const departId = Number(JSON.parse(dept.stdout).departId);
    expect((await cli(['dept', 'rename', String(departId), `${dname}-r`])).stdout).toContain(`"${dname}-r"`);
    expect((await cli(['dept', 'create', `${dname}-r`])).code).toBe(1);
    expect((await cli(['dept', 'move-user', name, String(departId)])).code).toBe(0);
    const list = await cli(['user', 'list', '--dept', String(departId), '--json']);
    expect((JSON.parse(list.stdout) as Array<{ name: string }>).map((u) => u.name)).toEqual([name]);
    expect((await cli(['dept', 'list'])).stdout).toContain(`department ${departId} "${dname}-r" (top level, priority 0, 1 users)`);
  });
});

describe('operability (docs/HEALTH.md, docs/METRICS.md)', () => {
  async function scrape(): Promise<{ text: string; exposition: Exposition }> {
    const res = await fetch(`${admin.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, exposition: parseExposition(text) };
  }

  it('answers /healthz, and /readyz ready while registered with db-proxy and route live', async () => {
    const live = await fetch(`${admin.metricsUrl}/healthz`);
    expect([live.status, await live.json()]).toEqual([200, { service: 'admin', alive: true }]);
    const ready = await fetch(`${admin.metricsUrl}/readyz`);
    const report = (await ready.json()) as { ready: boolean; reasons: string[]; checks: Record<string, unknown> };
    expect(ready.status).toBe(200);
    expect(report).toMatchObject({ service: 'admin', ready: true, draining: false, reasons: [] });
    expect(Object.keys(report.checks).sort()).toEqual(['db-proxy-live', 'etcd-registration', 'route-live']);
  });

  it('counts API requests by route template and status, with their latency; no user name in a label', async () => {
    const name = uniqueName('metered');
    await api('POST', '/v1/users', { name, password: 'pw-metered', departId: 1 });
    const route = { route: '/v1/users/{user}', method: 'GET' };
    const before = (await scrape()).exposition;
    expect((await api('GET', `/v1/users/${name}`)).status).toBe(200);
    expect((await api('GET', '/v1/users/nobody-here-at-all')).status).toBe(404);
    expect((await api('GET', `/v1/users/${name}`, undefined, 'wrong-token')).status).toBe(401);
    expect((await api('GET', `/v1/no/such/${name}`)).status).toBe(404);
    const { text, exposition: after } = await scrape();
    const moved = (metric: string, labels: Record<string, string>): number => sumOf(after, metric, labels) - sumOf(before, metric, labels);
    expect(moved('tt_admin_http_requests_total', { ...route, status: '200' })).toBe(1);
    expect(moved('tt_admin_http_requests_total', { ...route, status: '404' })).toBe(1);
    expect(moved('tt_admin_http_requests_total', { ...route, status: '401' })).toBe(1);
    expect(moved('tt_admin_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' })).toBe(1);
    expect(moved('tt_admin_http_request_duration_seconds_count', route)).toBe(3);
    expect(sumOf(after, 'tt_admin_http_request_duration_seconds_sum', route)).toBeGreaterThan(0);
    expect(text).not.toContain(name);
    expect(text).not.toContain('nobody-here-at-all');
    // Its calls to db-proxy, from libs/rpc's client interceptor.
    expect(moved('tt_grpc_client_handled_total', { code: 'OK' })).toBeGreaterThanOrEqual(1);
    // The process's own labels, as on every service.
    expect(after.samples.find((s) => s.name === 'tt_registry_registered')?.labels).toMatchObject({ service: 'admin', instance: `admin-${admin.port}` });
  });
});

// Stops the admin service: keep it last but for the logs.
describe('shutdown', () => {
  it('on SIGTERM: /readyz 503 draining and out of etcd first, a request in flight still answered', async () => {
    const key = `${suite.cluster.prefix}/services/admin/admin-${admin.port}`;
    const etcd = testEtcd();
    try {
      expect(await etcd.get(key).string()).not.toBeNull();
      // A create whose body is not complete yet: the server cannot close until it is answered.
      // `Expect: 100-continue`: the 100 proves the server is handling it (not an idle connection).
      const name = uniqueName('Drain');
      const req = http.request(`${admin.url}/v1/departments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', expect: '100-continue' },
      });
      const answer = new Promise<{ status: number; body: string; connection?: string }>((resolve, reject) => {
        req.on('response', (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
        });
        req.on('error', reject);
      });
      await new Promise<void>((resolve) => {
        req.once('continue', () => resolve());
        req.flushHeaders();
      });
      req.write(`{"name":"${name}"`);

      const stopped = admin.stop();
      let report: { ready?: boolean; draining?: boolean; reasons?: string[] } = {};
      await waitFor(
        async () => {
          const res = await fetch(`${admin.metricsUrl}/readyz`);
          report = (await res.json()) as typeof report;
          return res.status === 503;
        },
        5_000,
        { intervalMs: 50, what: 'admin /readyz 503 after SIGTERM' },
      );
      // Its deregistration may already show too ("etcd-registration: deregistered").
      expect(report).toMatchObject({ ready: false, draining: true });
      expect(report.reasons?.[0]).toBe('draining: shutting down');
      await waitFor(async () => (await etcd.get(key).string()) === null, 5_000, { what: 'admin to leave etcd' });

      req.end('}');
      const done = await answer;
      expect(done.status).toBe(201);
      expect(JSON.parse(done.body)).toMatchObject({ name });
      // No keep-alive while stopping: the connection does not hold up the exit.
      expect(done.connection).toBe('close');
      await stopped;
      expect(readFileSync(admin.logFile, 'utf8')).toContain('"msg":"stopped"');
    } finally {
      etcd.close();
    }
  });
});

describe('logs', () => {
  it('no password, its md5, or the admin token reaches any log of the run', () => {
    const secrets = ['first-pw', 'old-password', 'new-password', 'pw-leaver', 'cli-password', 'after-change', 'replaced-pw', TOKEN];
    // This run's output of every tier (logTail reads from where the run started), and the admin service's.
    const logs = [readFileSync(admin.logFile, 'utf8'), ...suite.cluster.instanceInfo().map((i) => suite.cluster.logTail(i.name, 1_000_000))].join('\n');
    expect(logs).toContain('admin request');
    for (const s of secrets) {
      expect([s, logs.includes(s)]).toEqual([s, false]);
      if (s !== TOKEN) expect([s, logs.includes(md5hex(s))]).toEqual([s, false]);
    }
  });
});
