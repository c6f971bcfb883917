// Mutual TLS between tiers (docs/SECURITY.md): on every gRPC port of a real
// cluster, a call without a certificate, with another CA's certificate, or
// with the wrong service's certificate is refused, and the right one succeeds;
// a client refuses a server whose certificate names another service (a fake
// etcd registration); plaintext is refused at start-up off loopback.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { DbAdminService, DbProxyService, GatewayService, IM, PushService, RouteService, tiertalk, type PushAck } from '@tiertalk/proto';
import { createClient, errorCode, mutualTls, openBidi, unaryCall, type ClientMethod, type RpcSecurity } from '@tiertalk/rpc';
import { Cluster, flushTestRedis, prepareTestDatabase, repoRoot, testConfig, testPki, tlsEnv } from '@tiertalk/testkit';
import { createDevPki, type DevPki } from '@tiertalk/tls';
import { parseExposition, sumOf } from './prometheus-text';

jest.setTimeout(90_000);

let cluster: Cluster;
let pki: DevPki;
let otherCaDir: string;
let otherPki: DevPki;
const securities: RpcSecurity[] = [];

function as(name: string, fromPki: DevPki = pki): RpcSecurity {
  const { cert, key } = fromPki.certFor(name);
  // The client trusts the cluster CA in every case: only its own certificate varies.
  const sec = mutualTls({ ca: pki.caCert, cert, key }, { pollIntervalMs: 0 });
  securities.push(sec);
  return sec;
}

/** TLS that verifies the server but presents no client certificate. */
function noCertClient(addr: string, service: string): grpc.Client {
  const creds = grpc.credentials.createSsl(readFileSync(pki.caCert), null, null, { checkServerIdentity: () => undefined });
  return new grpc.Client(addr, creds, { 'grpc.ssl_target_name_override': service });
}

function plaintextClient(addr: string): grpc.Client {
  return new grpc.Client(addr, grpc.credentials.createInsecure());
}

function addrOf(name: string): string {
  const info = cluster.instanceInfo().find((i) => i.name === name);
  if (!info) throw new Error(`no instance ${name}`);
  return `127.0.0.1:${info.grpcPort}`;
}

/** The gRPC status code a unary call ends with (OK = 0 when it answers). */
async function unaryCode<Req, Res>(client: grpc.Client, method: ClientMethod<Req, Res>, req: Req): Promise<number> {
  try {
    await unaryCall(client, method, req, { deadlineMs: 5_000 });
    return grpc.status.OK;
  } catch (err) {
    return errorCode(err) ?? -1;
  } finally {
    client.close();
  }
}

/** Opens Gateway.Push, sends one empty batch: OK when the gateway acknowledges it, else the stream's error code. */
function pushCode(client: grpc.Client): Promise<number> {
  return new Promise((resolve) => {
    const stream = openBidi(client, GatewayService.Push);
    const done = (code: number): void => {
      stream.cancel();
      client.close();
      resolve(code);
    };
    stream.on('data', (_ack: PushAck) => done(grpc.status.OK));
    stream.on('error', (err: unknown) => done(errorCode(err) ?? -1));
    stream.write(tiertalk.PushBatch.create({ items: [] }));
  });
}

const validateReq = tiertalk.ValidateBatch.create({ items: [{ ref: 1, req: { userName: 'nobody', password: 'x' } }] });
const storeReq = tiertalk.MsgStoreBatch.create({ items: [] });
const tokensReq = IM.Server.IMGetDeviceTokenReq.create({ userId: [1] });
const statReq = IM.Buddy.IMUsersStatReq.create({ userId: 1, userIdList: [1] });

/** Opens a bidi method, writes one batch and half-closes: the stream's final status code. */
function streamCode<Req, Res>(client: grpc.Client, method: ClientMethod<Req, Res>, batch: Req): Promise<number> {
  return new Promise((resolve) => {
    const stream = openBidi(client, method);
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('status', (st: grpc.StatusObject) => {
      client.close();
      resolve(st.code);
    });
    stream.write(batch);
    stream.end();
  });
}

const storeCode = (client: grpc.Client): Promise<number> => streamCode(client, DbProxyService.StoreMessages, storeReq);
const validateCode = (client: grpc.Client): Promise<number> => streamCode(client, DbProxyService.ValidateStream, validateReq);

beforeAll(async () => {
  await prepareTestDatabase();
  await flushTestRedis();
  pki = testPki();
  otherCaDir = mkdtempSync(path.join(os.tmpdir(), 'tt-other-ca-'));
  otherPki = createDevPki(otherCaDir, ['msg', 'route', 'admin']);
  cluster = await Cluster.start({ dbProxy: 1, route: 1, msg: 1, push: 1 });
});

afterAll(async () => {
  for (const s of securities) if (s.kind === 'mtls') s.files.close();
  await cluster?.stop();
  rmSync(otherCaDir, { recursive: true, force: true });
});

describe('db-proxy gRPC port', () => {
  it('serves ValidateStream and StoreMessages to the gateway certificate', async () => {
    expect(await validateCode(createClient(addrOf('db-proxy-1'), as('msg'), 'db-proxy'))).toBe(grpc.status.OK);
    expect(await storeCode(createClient(addrOf('db-proxy-1'), as('msg'), 'db-proxy'))).toBe(grpc.status.OK);
    expect(await unaryCode(createClient(addrOf('db-proxy-1'), as('route'), 'db-proxy'), DbProxyService.GetDeviceToken, tokensReq)).toBe(grpc.status.OK);
    expect(await unaryCode(createClient(addrOf('db-proxy-1'), as('push'), 'db-proxy'), DbProxyService.GetDeviceToken, tokensReq)).toBe(grpc.status.OK);
  });

  it('refuses a caller without a certificate, with another CA\'s, or in plaintext', async () => {
    expect(await validateCode(noCertClient(addrOf('db-proxy-1'), 'db-proxy'))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await validateCode(createClient(addrOf('db-proxy-1'), as('msg', otherPki), 'db-proxy'))).toBe(
      grpc.status.UNAUTHENTICATED,
    );
    expect(await storeCode(createClient(addrOf('db-proxy-1'), as('msg', otherPki), 'db-proxy'))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await validateCode(plaintextClient(addrOf('db-proxy-1')))).toBe(grpc.status.UNAVAILABLE);
  });

  it('refuses the wrong service: login may not store messages or validate, msg may not read device tokens, admin may not validate, push may not store or validate', async () => {
    expect(await storeCode(createClient(addrOf('db-proxy-1'), as('login'), 'db-proxy'))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await validateCode(createClient(addrOf('db-proxy-1'), as('login'), 'db-proxy'))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await unaryCode(createClient(addrOf('db-proxy-1'), as('msg'), 'db-proxy'), DbProxyService.GetDeviceToken, tokensReq)).toBe(grpc.status.PERMISSION_DENIED);
    expect(await validateCode(createClient(addrOf('db-proxy-1'), as('admin'), 'db-proxy'))).toBe(grpc.status.PERMISSION_DENIED);
    // The push service reads tokens and shields, nothing else.
    expect(await storeCode(createClient(addrOf('db-proxy-1'), as('push'), 'db-proxy'))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await validateCode(createClient(addrOf('db-proxy-1'), as('push'), 'db-proxy'))).toBe(grpc.status.PERMISSION_DENIED);
    // Counted and logged as refusals (RefusalLog), by reason.
    const log = cluster.logTail('db-proxy-1', 400);
    expect(log).toContain('"reason":"grpc_not_allowed"');
    expect(log).toContain('"reason":"grpc_unauthenticated"');
    // And in the gRPC metrics, by method and status (the metrics interceptor runs before the policy).
    const metricsPort = cluster.instanceInfo().find((i) => i.name === 'db-proxy-1')?.metricsPort;
    const served = parseExposition(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    expect(sumOf(served, 'tt_grpc_server_handled_total', { method: 'tiertalk.DbProxy/ValidateStream', code: 'PERMISSION_DENIED' })).toBeGreaterThanOrEqual(2);
    expect(sumOf(served, 'tt_grpc_server_handled_total', { method: 'tiertalk.DbProxy/ValidateStream', code: 'UNAUTHENTICATED' })).toBeGreaterThanOrEqual(1);
  });
});

describe('the send API certificate (http-api)', () => {
  it('may store messages, read a user and deliver; not validate logins, read device tokens or message history', async () => {
    expect(await storeCode(createClient(addrOf('db-proxy-1'), as('http-api'), 'db-proxy'))).toBe(grpc.status.OK);
    expect(await unaryCode(createClient(addrOf('db-proxy-1'), as('http-api'), 'db-proxy'), DbAdminService.UserGet, tiertalk.AdminUserRef.create({ name: 'alice' }))).toBe(grpc.status.OK);
    expect(await streamCode(createClient(addrOf('route-1'), as('http-api'), 'route'), RouteService.Deliver, tiertalk.EnvelopeBatch.create({ items: [] }))).toBe(grpc.status.OK);
    expect(await validateCode(createClient(addrOf('db-proxy-1'), as('http-api'), 'db-proxy'))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await unaryCode(createClient(addrOf('db-proxy-1'), as('http-api'), 'db-proxy'), DbProxyService.GetDeviceToken, tokensReq)).toBe(grpc.status.PERMISSION_DENIED);
    const history = IM.Message.IMGetMsgListReq.create({ userId: 1, sessionType: 1, sessionId: 2, msgIdBegin: 0, msgCnt: 10 });
    expect(await unaryCode(createClient(addrOf('db-proxy-1'), as('http-api'), 'db-proxy'), DbProxyService.MsgList, history)).toBe(grpc.status.PERMISSION_DENIED);
    expect(await unaryCode(createClient(addrOf('route-1'), as('http-api'), 'route'), RouteService.UsersStat, statReq)).toBe(grpc.status.PERMISSION_DENIED);
  });
});

describe('db-proxy administration (DbAdmin)', () => {
  const adminCalls = [
    (c: grpc.Client) => unaryCode(c, DbAdminService.UserCreate, tiertalk.AdminUserCreateReq.create({ name: 'mtls-intruder', passwordMd5: 'a'.repeat(32), departId: 1 })),
    (c: grpc.Client) => unaryCode(c, DbAdminService.UserSetPassword, tiertalk.AdminSetPasswordReq.create({ user: { name: 'alice' }, passwordMd5: 'b'.repeat(32) })),
    (c: grpc.Client) => unaryCode(c, DbAdminService.UserSetStatus, tiertalk.AdminSetStatusReq.create({ user: { userId: 1 }, disabled: true })),
    (c: grpc.Client) => unaryCode(c, DbAdminService.DepartList, tiertalk.Empty.create()),
  ];

  it('refuses every tier certificate but admin: a gateway, route or login certificate cannot call admin operations', async () => {
    for (const name of ['msg', 'route', 'login', 'db-proxy', 'http-api']) {
      for (const call of adminCalls) expect([name, await call(createClient(addrOf('db-proxy-1'), as(name), 'db-proxy'))]).toEqual([name, grpc.status.PERMISSION_DENIED]);
    }
    for (const call of adminCalls) expect(await call(noCertClient(addrOf('db-proxy-1'), 'db-proxy'))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await adminCalls[3](createClient(addrOf('db-proxy-1'), as('admin', otherPki), 'db-proxy'))).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('serves the admin certificate', async () => {
    expect(await adminCalls[3](createClient(addrOf('db-proxy-1'), as('admin'), 'db-proxy'))).toBe(grpc.status.OK);
  });
});

describe('route gRPC port', () => {
  it('serves the gateway certificate', async () => {
    expect(await unaryCode(createClient(addrOf('route-1'), as('msg'), 'route'), RouteService.UsersStat, statReq)).toBe(grpc.status.OK);
  });

  it('refuses no certificate, another CA, and services other than the gateway', async () => {
    expect(await unaryCode(noCertClient(addrOf('route-1'), 'route'), RouteService.UsersStat, statReq)).toBe(grpc.status.UNAUTHENTICATED);
    expect(await unaryCode(createClient(addrOf('route-1'), as('msg', otherPki), 'route'), RouteService.UsersStat, statReq)).toBe(grpc.status.UNAUTHENTICATED);
    expect(await unaryCode(createClient(addrOf('route-1'), as('login'), 'route'), RouteService.UsersStat, statReq)).toBe(grpc.status.PERMISSION_DENIED);
    // KickUser: the gateway (a mobile kicking the PC) and the operator (a disabled user) only.
    const kick = IM.Server.IMServerKickUser.create({ userId: 1, clientType: 1, reason: 1 });
    expect(await unaryCode(createClient(addrOf('route-1'), as('login'), 'route'), RouteService.KickUser, kick)).toBe(grpc.status.PERMISSION_DENIED);
    expect(await unaryCode(createClient(addrOf('route-1'), as('db-proxy'), 'route'), RouteService.KickUser, kick)).toBe(grpc.status.PERMISSION_DENIED);
    expect(await unaryCode(createClient(addrOf('route-1'), as('admin'), 'route'), RouteService.KickUser, kick)).toBe(grpc.status.OK);
    expect(await unaryCode(plaintextClient(addrOf('route-1')), RouteService.UsersStat, statReq)).toBe(grpc.status.UNAVAILABLE);
    // Only a gateway registers sessions.
    const loginBatch = tiertalk.SessionBatch.create({ items: [{ ref: 1, session: { gatewayId: 'gw-x', connId: 1, userId: 1, clientType: 1 } }] });
    expect(await streamCode(createClient(addrOf('route-1'), as('admin'), 'route'), RouteService.LoginStream, loginBatch)).toBe(grpc.status.PERMISSION_DENIED);
  });
});

describe('msg gateway gRPC port', () => {
  it('accepts pushes from route only', async () => {
    expect(await pushCode(createClient(addrOf('msg-1'), as('route'), 'msg'))).toBe(grpc.status.OK);
    expect(await pushCode(noCertClient(addrOf('msg-1'), 'msg'))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await pushCode(createClient(addrOf('msg-1'), as('route', otherPki), 'msg'))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await pushCode(createClient(addrOf('msg-1'), as('msg'), 'msg'))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await pushCode(createClient(addrOf('msg-1'), as('admin'), 'msg'))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await pushCode(plaintextClient(addrOf('msg-1')))).toBe(grpc.status.UNAVAILABLE);
  });
});

describe('push gRPC port', () => {
  const notifyCode = (client: grpc.Client): Promise<number> => streamCode(client, PushService.Notify, tiertalk.NotifyBatch.create({ items: [] }));

  it('serves Notify to route only', async () => {
    expect(await notifyCode(createClient(addrOf('push-1'), as('route'), 'push'))).toBe(grpc.status.OK);
    expect(await notifyCode(createClient(addrOf('push-1'), as('msg'), 'push'))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await notifyCode(noCertClient(addrOf('push-1'), 'push'))).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe('server identity', () => {
  it('a client of db-proxy refuses a server whose certificate names another service (a forged registration)', async () => {
    // route's real port, reached by a client that believes it is db-proxy; the
    // same client expecting route gets through TLS (and then finds no DbProxy there).
    expect(await validateCode(createClient(addrOf('route-1'), as('msg'), 'route'))).toBe(grpc.status.UNIMPLEMENTED);
    expect(await validateCode(createClient(addrOf('route-1'), as('msg'), 'db-proxy'))).toBe(grpc.status.UNAVAILABLE);
  });
});

describe('admin CLI', () => {
  function adminCli(cert: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [path.join(repoRoot, 'services', 'admin', 'dist', 'cli.js'), ...args],
        { env: { PATH: process.env.PATH ?? '', ...tlsEnv(pki, cert), TT_ETCD_PREFIX: cluster.prefix, TT_ETCD_ENDPOINTS: testConfig.etcdEndpoints.join(',') }, timeout: 20_000 },
        (err, _stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stderr: String(stderr) }),
      );
    });
  }

  it('works with the operator certificate and is refused with another service\'s', async () => {
    // Group 1 may not exist: "refused: no such group" (exit 1) is an answer from db-proxy too, so compare the reason.
    const asAdmin = await adminCli('admin', 'group', 'members', '1');
    expect(asAdmin.stderr).not.toContain('may not call');
    const asLogin = await adminCli('login', 'group', 'members', '1');
    expect(asLogin.code).toBe(1);
    expect(asLogin.stderr).toContain('"login" may not call /tiertalk.DbProxy/GroupMembers');
  });
});

describe('start-up', () => {
  function start(service: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(repoRoot, 'services', service, 'dist', 'main.js')], {
        env: { PATH: process.env.PATH ?? '', TT_ETCD_ENDPOINTS: 'http://127.0.0.1:1', TT_LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
  }

  it('refuses TT_GRPC_INSECURE on an address other than loopback', async () => {
    for (const service of ['route', 'msg']) {
      const r = await start(service, { TT_GRPC_INSECURE: 'true', TT_GRPC_HOST: '0.0.0.0', TT_SESSION_REDIS_URL: 'redis://127.0.0.1:1/0' });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('TT_GRPC_INSECURE: plaintext gRPC is only allowed on a loopback TT_GRPC_HOST');
    }
  });

  it('refuses to start without TLS files unless plaintext is asked for', async () => {
    const r = await start('route', { TT_SESSION_REDIS_URL: 'redis://127.0.0.1:1/0' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TT_TLS_CERT: expected a PEM file path');
  });
});
