// TLS to clients (docs/SECURITY.md "TLS to clients") against real processes:
// TeamTalk over TLS and wss:// on the gateways, HTTPS on login, certificate
// checks on the client side, certificate reload, plain TCP switched off.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ClientError, TeamTalkClient, gatewayPort, pickGateway, type ClientTlsOptions } from '@tiertalk/client';
import { encodeFrame } from '@tiertalk/pdu';
import { CID, IM, SID } from '@tiertalk/proto';
import { Cluster, canConnect, flushTestRedis, prepareTestDatabase, repoRoot, waitFor } from '@tiertalk/testkit';
import { createDevPki } from '@tiertalk/tls';
import { DEMO_PASSWORD, nextMessage, rawSocket, socketClosedWithin } from './helpers';
import { parseExposition, sumOf } from './prometheus-text';

jest.setTimeout(90_000);

const open: TeamTalkClient[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tt-client-tls-'));
  dirs.push(dir);
  return dir;
}

async function track(p: Promise<TeamTalkClient>): Promise<TeamTalkClient> {
  const c = await p;
  open.push(c);
  return c;
}

async function errorOf(p: Promise<unknown>): Promise<ClientError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ClientError)) throw new Error(`expected a ClientError, got ${String(err)}`);
  return err;
}

/** The certificate a fresh TLS connection is shown (verified against `ca`). */
function servedCertificate(port: number, ca: Buffer): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, minVersion: 'TLSv1.2' }, () => {
      const raw = socket.getPeerX509Certificate();
      socket.destroy();
      if (raw) resolve(raw);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}

/** GET <url>/msg_server over HTTPS, trusting `ca`: the parsed JSON. */
function httpsJson(url: string, ca: Buffer): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    https
      .get(`${url}/msg_server`, { ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>));
      })
      .on('error', reject);
  });
}

/** Runs the terminal client with stdin closed at once (it leaves after logging in): exit code and output. */
function runChatCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.TT_PASSWORD;
  const child = spawn(process.execPath, [path.join(repoRoot, 'libs/client/dist/chat-cli.js'), ...args], { cwd: repoRoot, env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end();
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('TLS to clients', () => {
  let cluster: Cluster;
  let pkiDir: string;
  let ca: ClientTlsOptions;
  /** Another CA, with its own msg and login certificates. */
  let otherPki: ReturnType<typeof createDevPki>;

  beforeAll(async () => {
    await prepareTestDatabase();
    await flushTestRedis();
    pkiDir = tempDir();
    otherPki = createDevPki(tempDir(), ['msg', 'login']);
    cluster = await Cluster.start({
      dbProxy: 1,
      route: 1,
      msg: 1,
      login: true,
      clientTls: { dir: pkiDir },
      // msg reloads on SIGHUP only, login on a file change (polled fast): each trigger is tested once.
      serviceEnv: { msg: { TT_CLIENT_TLS_POLL_MS: '0', TT_TLS_HANDSHAKE_TIMEOUT_MS: '1000' }, login: { TT_CLIENT_TLS_POLL_MS: '100' } },
    });
    if (cluster.caFile === undefined) throw new Error('cluster has no client CA');
    ca = { caFile: cluster.caFile };
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('login answers over HTTPS with TeamTalk JSON plus the gateway TLS port', async () => {
    expect(cluster.loginUrl).toMatch(/^https:\/\//);
    const [gw] = cluster.gateways();
    const body = await httpsJson(cluster.loginUrl, readFileSync(ca.caFile ?? ''));
    expect(body).toMatchObject({ code: 0, msg: '', priorIP: '127.0.0.1', port: String(gw.tcpPort), tlsPort: String(gw.tlsPort) });
    expect(Object.keys(body)).toEqual(['code', 'msg', 'priorIP', 'backupIP', 'port', 'msfsPrior', 'msfsBackup', 'discovery', 'tlsPort']);

    const choice = await pickGateway(cluster.loginUrl, { tls: ca });
    expect(choice).toMatchObject({ host: '127.0.0.1', port: gw.tcpPort, tlsPort: gw.tlsPort });
    expect(gatewayPort(choice, true)).toBe(gw.tlsPort);
  });

  it('a client logs in and chats over the TLS port and over wss://, certificates verified', async () => {
    const choice = await pickGateway(cluster.loginUrl, { tls: ca });
    const alice = await track(TeamTalkClient.connect({ host: choice.host, port: gatewayPort(choice, true), tls: ca, heartbeatMs: 0 }));
    const [gw] = cluster.gateways();
    const bob = await track(TeamTalkClient.connect({ host: '127.0.0.1', port: gw.wsPort, transport: 'ws', tls: ca, heartbeatMs: 0 }));
    expect(alice.secure && bob.secure).toBe(true);
    const a = await alice.login('alice', DEMO_PASSWORD);
    const b = await bob.login('bob', DEMO_PASSWORD);

    const toBob = nextMessage(bob);
    const sent = await alice.sendText(b.userId, 'over tls');
    expect(sent.msgId).toBeGreaterThan(0);
    expect(Buffer.from((await toBob).msgData).toString()).toBe('over tls');

    const toAlice = nextMessage(alice);
    await bob.sendText(a.userId, 'over wss');
    expect(Buffer.from((await toAlice).msgData).toString()).toBe('over wss');

    // The gateway's connection gauge tells the transports apart (docs/METRICS.md).
    const metricsPort = cluster.instanceInfo().find((i) => i.name === gw.name)?.metricsPort;
    const served = parseExposition(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    expect(sumOf(served, 'tt_msg_connections_open', { transport: 'tls' })).toBeGreaterThanOrEqual(1);
    expect(sumOf(served, 'tt_msg_connections_open', { transport: 'ws' })).toBeGreaterThanOrEqual(1);
  });

  it('the terminal client logs in over HTTPS and TLS with --ca, and refuses another CA', async () => {
    const [gw] = cluster.gateways();
    const ok = await runChatCli(['--login-url', cluster.loginUrl, '--ca', ca.caFile ?? '', '--user', 'carol', '--password', DEMO_PASSWORD]);
    expect(ok.stdout).toContain(`Logged in as carol at 127.0.0.1:${String(gw.tlsPort)} (TLS, certificate verified).`);
    expect(ok.code).toBe(0);
    const direct = await runChatCli(['--gateway', `127.0.0.1:${String(gw.tlsPort)}`, '--ca', otherPki.caCert, '--user', 'carol', '--password', DEMO_PASSWORD]);
    expect(direct.code).toBe(2);
    expect(direct.stderr).toMatch(/cannot reach the server: .*certificate not accepted/);
  });

  it('plain TCP still serves stock TeamTalk clients next to TLS', async () => {
    const [gw] = cluster.gateways();
    const carol = await track(TeamTalkClient.connect({ host: '127.0.0.1', port: gw.tcpPort, heartbeatMs: 0 }));
    await expect(carol.login('carol', DEMO_PASSWORD)).resolves.toMatchObject({ resultCode: 0 });
  });

  it('refuses a server whose certificate another CA signed, or that names another host', async () => {
    const [gw] = cluster.gateways();
    const wrongCa = { caFile: otherPki.caCert };
    const tlsPort = gw.tlsPort ?? 0;
    expect((await errorOf(TeamTalkClient.connect({ host: '127.0.0.1', port: tlsPort, tls: wrongCa }))).code).toBe('TLS_VERIFY_FAILED');
    expect((await errorOf(TeamTalkClient.connect({ host: '127.0.0.1', port: gw.wsPort, transport: 'ws', tls: wrongCa }))).code).toBe('TLS_VERIFY_FAILED');
    expect((await errorOf(pickGateway(cluster.loginUrl, { tls: wrongCa }))).code).toBe('TLS_VERIFY_FAILED');
    // No CA given: the system's roots do not know the development CA either.
    expect((await errorOf(TeamTalkClient.connect({ host: '127.0.0.1', port: tlsPort, tls: true }))).code).toBe('TLS_VERIFY_FAILED');
    // The right CA, but the certificate is not for this name.
    const wrongName = await errorOf(TeamTalkClient.connect({ host: '127.0.0.1', port: tlsPort, tls: { ...ca, servername: 'chat.example.com' } }));
    expect(wrongName.code).toBe('TLS_VERIFY_FAILED');
  });

  it('drops plaintext on the TLS port and a handshake that never comes, and keeps serving', async () => {
    const [gw] = cluster.gateways();
    const tlsPort = gw.tlsPort ?? 0;
    // A stock client pointed at the TLS port: its first frame is no ClientHello.
    const plain = await rawSocket(tlsPort);
    plain.on('error', () => undefined);
    const loginReq = IM.Login.IMLoginReq.encode({ userName: 'alice', password: 'x', onlineStatus: 1, clientType: 1 }).finish();
    plain.write(encodeFrame(SID.SID_LOGIN, CID.CID_LOGIN_REQ_USERLOGIN, 1, loginReq));
    expect(await socketClosedWithin(plain, 5000)).toBe(true);
    // Connected, silent: closed by the handshake timeout (1 s here), on the TLS and the wss port.
    const silent = await Promise.all([rawSocket(tlsPort), rawSocket(gw.wsPort)]);
    for (const s of silent) s.on('error', () => undefined);
    expect(await Promise.all(silent.map((s) => socketClosedWithin(s, 8000)))).toEqual([true, true]);

    const dave = await track(TeamTalkClient.connect({ host: '127.0.0.1', port: tlsPort, tls: ca, heartbeatMs: 0 }));
    await expect(dave.login('dave', DEMO_PASSWORD)).resolves.toMatchObject({ resultCode: 0 });
    await waitFor(() => /tls_handshake_failed/.test(cluster.logTail('msg-1', 200)) && /tls_handshake_timeout/.test(cluster.logTail('msg-1', 200)), 5000, {
      what: 'refusals logged by msg-1',
    });
  });

  it('serves a replaced certificate to new connections (SIGHUP on msg, file change on login) while open ones continue', async () => {
    const [gw] = cluster.gateways();
    const tlsPort = gw.tlsPort ?? 0;
    const oldCa = readFileSync(ca.caFile ?? '');
    const newCa = readFileSync(otherPki.caCert);
    const before = await servedCertificate(tlsPort, oldCa);

    const alice = await track(TeamTalkClient.connect({ host: '127.0.0.1', port: tlsPort, tls: ca, heartbeatMs: 0 }));
    const bob = await track(TeamTalkClient.connect({ host: '127.0.0.1', port: gw.wsPort, transport: 'ws', tls: ca, heartbeatMs: 0 }));
    await alice.login('alice', DEMO_PASSWORD);
    const b = await bob.login('bob', DEMO_PASSWORD);

    // Key first, then certificate: a poll in between would see a mismatched pair and keep the old one.
    for (const name of ['msg', 'login']) {
      copyFileSync(otherPki.certFor(name).key, path.join(pkiDir, `${name}.key`));
      copyFileSync(otherPki.certFor(name).cert, path.join(pkiDir, `${name}.crt`));
    }
    cluster.process('msg-1').kill('SIGHUP');

    // New TLS and wss handshakes get the new certificate, verified by the new CA ...
    await waitFor(() => servedCertificate(tlsPort, newCa).then(() => true, () => false), 10_000, { what: 'msg-1 to serve the new certificate' });
    const after = await servedCertificate(tlsPort, newCa);
    expect(after.fingerprint256).not.toBe(before.fingerprint256);
    expect(after.verify(new X509Certificate(newCa).publicKey)).toBe(true);
    const carol = await track(TeamTalkClient.connect({ host: '127.0.0.1', port: gw.wsPort, transport: 'ws', tls: { caFile: otherPki.caCert }, heartbeatMs: 0 }));
    await expect(carol.login('carol', DEMO_PASSWORD)).resolves.toMatchObject({ resultCode: 0 });
    // ... and the old CA no longer verifies new connections.
    expect((await errorOf(TeamTalkClient.connect({ host: '127.0.0.1', port: tlsPort, tls: ca }))).code).toBe('TLS_VERIFY_FAILED');
    // login noticed its files changed.
    await waitFor(() => httpsJson(cluster.loginUrl, newCa).then((j) => j.code === 0, () => false), 10_000, { what: 'login to serve the new certificate' });

    // The connections opened before the reload still carry messages both ways.
    expect(alice.isClosed || bob.isClosed).toBe(false);
    const toBob = nextMessage(bob);
    await alice.sendText(b.userId, 'after reload');
    expect(Buffer.from((await toBob).msgData).toString()).toBe('after reload');
    const toAlice = nextMessage(alice);
    await bob.sendText(alice.userId ?? 0, 'still here');
    expect(Buffer.from((await toAlice).msgData).toString()).toBe('still here');
  });
});

describe('TLS only (TT_PLAIN_TCP=false)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    await prepareTestDatabase();
    await flushTestRedis();
    cluster = await Cluster.start({ dbProxy: 1, route: 1, msg: 1, login: true, clientTls: { dir: tempDir() }, serviceEnv: { msg: { TT_PLAIN_TCP: 'false' } } });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('opens no plain TCP port, hands out port 0 plus tlsPort, and serves TLS', async () => {
    const [gw] = cluster.gateways();
    expect(await canConnect(gw.tcpPort)).toBe(false);
    const tlsOptions = { caFile: cluster.caFile ?? '' };
    const choice = await pickGateway(cluster.loginUrl, { tls: tlsOptions });
    expect(choice.raw).toMatchObject({ port: '0', tlsPort: String(gw.tlsPort) });
    expect(() => gatewayPort(choice, false)).toThrow(/TLS only/);
    const alice = await track(TeamTalkClient.connect({ host: choice.host, port: gatewayPort(choice, true), tls: tlsOptions, heartbeatMs: 0 }));
    await expect(alice.login('alice', DEMO_PASSWORD)).resolves.toMatchObject({ resultCode: 0 });
  });
});
