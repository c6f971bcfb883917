// Integration: the real HTTP server reading a real etcd through @tiertalk/registry.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@tiertalk/log';
import { ServerCertificate, createDevPki } from '@tiertalk/tls';
import { Registration, Registry, ServiceWatch } from '@tiertalk/registry';
import { deletePrefix, testConfig, uniquePrefix, waitFor } from '@tiertalk/testkit';
import { LoginHttpServer, looksLikeIpv4, responseBody, startHttpServer } from './http-server';
import { GatewayBalancer } from './gateway-balancer';
import { PICK_FULL, PICK_NONE, PICK_OK, pickGateway } from './gateway-picker';

const MSFS = 'http://files.example:8700/';
const DISCOVERY = 'http://example/api/discovery';

interface RawReply {
  /** Everything the server wrote before closing. */
  raw: string;
  status?: string;
  headers: Record<string, string>;
  body: string;
}

/** Sends raw bytes (optionally in several writes) and collects the reply until the server closes. */
function exchange(port: number, ...chunks: string[]): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after we wrote into a socket the server already dropped still means "closed".
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    sock.setTimeout(5000, () => {
      sock.destroy();
      reject(new Error('server did not close the connection within 5 s'));
    });
    sock.on('close', () => resolve(parseReply(Buffer.concat(got).toString('utf8'))));
    sock.on('connect', async () => {
      for (const c of chunks) {
        if (sock.destroyed) return;
        sock.write(c);
        await new Promise((r) => setTimeout(r, 30));
      }
    });
  });
}

function parseReply(raw: string): RawReply {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) return { raw, headers: {}, body: '' };
  const [status, ...lines] = raw.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { raw, status, headers, body: raw.slice(split + 4) };
}

function toRecord(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null) throw new Error(`not a JSON object: ${String(v)}`);
  return Object.fromEntries(Object.entries(v));
}

const get = (port: number, path = '/msg_server'): Promise<RawReply> => exchange(port, `GET ${path} HTTP/1.1\r\nHost: login\r\n\r\n`);

describe('login HTTP server against etcd', () => {
  const prefix = uniquePrefix();
  const logLines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'login',
    instanceId: 'login-test',
    level: 'info',
    destination: { write: (line: string) => void logLines.push(toRecord(JSON.parse(line))) },
  });
  let registry: Registry;
  let watch: ServiceWatch;
  let server: LoginHttpServer;
  const balancer = new GatewayBalancer();
  let port: number;
  const gateways = new Map<string, Registration>();

  async function addGateway(id: string, curConn: number, maxConn: number, gwPort: number): Promise<Registration> {
    const reg = await registry.register({
      id,
      service: 'msg',
      addr: '127.0.0.1:1',
      load: curConn,
      meta: { ip1: `10.0.0.${gwPort - 8000}`, ip2: `172.16.0.${gwPort - 8000}`, port: gwPort, wsPort: 8400, maxConn, curConn },
    });
    gateways.set(id, reg);
    return reg;
  }

  async function setConn(id: string, curConn: number, maxConn: number): Promise<void> {
    const reg = gateways.get(id);
    if (!reg) throw new Error(`no gateway ${id}`);
    await reg.update({ load: curConn, meta: { ...reg.current.meta, curConn, maxConn } });
  }

  /** Waits until the login's view of etcd shows the given curConn per gateway id. */
  function watchShows(expected: Record<string, number | undefined>): Promise<void> {
    return waitFor(
      () => Object.entries(expected).every(([id, cur]) => (cur === undefined ? !watch.get(id) : watch.get(id)?.meta.curConn === cur)),
      5000,
      { what: `watch to show ${JSON.stringify(expected)}` },
    );
  }

  async function json(path = '/msg_server'): Promise<Record<string, unknown>> {
    const reply = await get(port, path);
    expect(reply.status).toBe('HTTP/1.1 200 OK');
    return toRecord(JSON.parse(reply.body));
  }

  beforeAll(async () => {
    registry = await Registry.connect({ endpoints: [...testConfig.etcdEndpoints], prefix, leaseTtlSec: 5, logger });
    watch = await registry.watch('msg');
    server = await startHttpServer({ host: '127.0.0.1', port: 0, pick: () => balancer.pick(watch.list()), msfsUrl: MSFS, discoveryUrl: DISCOVERY, logger });
    port = server.address.port;
  });

  afterAll(async () => {
    await server?.close(500);
    await Promise.all([...gateways.values()].map((g) => g.deregister()));
    await registry?.close();
    await deletePrefix(prefix);
  });

  it('answers code 1 with TeamTalk headers and closes when no gateway is registered', async () => {
    const reply = await get(port);
    expect(reply.status).toBe('HTTP/1.1 200 OK');
    expect(reply.headers.connection).toBe('close');
    expect(reply.headers['content-type']).toBe('text/html;charset=utf-8');
    expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body, 'utf8'));
    expect(JSON.parse(reply.body)).toEqual({ code: PICK_NONE, msg: '没有msg_server' });
  });

  it('chooses the least-loaded gateway, port as a string, then follows load changes', async () => {
    await addGateway('gw-a', 5, 100, 8001);
    await addGateway('gw-b', 3, 100, 8002);
    await watchShows({ 'gw-a': 5, 'gw-b': 3 });

    const body = await json();
    expect(body).toEqual({
      code: PICK_OK,
      msg: '',
      priorIP: '10.0.0.2',
      backupIP: '172.16.0.2',
      port: '8002',
      msfsPrior: MSFS,
      msfsBackup: MSFS,
      discovery: DISCOVERY,
    });
    expect(Object.keys(body)).toEqual(['code', 'msg', 'priorIP', 'backupIP', 'port', 'msfsPrior', 'msfsBackup', 'discovery']);

    // Far above gw-a, so the answers below (each counted on gw-a until its next report) stay there.
    await setConn('gw-b', 50, 100);
    await watchShows({ 'gw-b': 50 });
    expect(await json()).toMatchObject({ code: PICK_OK, priorIP: '10.0.0.1', port: '8001' });

    // Query string and POST are the same request to TeamTalk.
    const post = await exchange(port, 'POST /msg_server?v=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n', 'user=bob&');
    expect(JSON.parse(post.body)).toMatchObject({ code: PICK_OK, port: '8001' });
  });

  it('logs one line per request with a request id', async () => {
    logLines.length = 0;
    await json();
    const lines = logLines.filter((l) => l.component === 'http');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'msg_server request', method: 'GET', url: '/msg_server', code: PICK_OK, gateway: 'gw-a' });
    expect(lines[0].reqId).toMatch(/^[0-9a-f]{12}$/);
  });

  it('skips a gateway whose meta is unusable', async () => {
    const broken = await registry.register({ id: 'gw-0-broken', service: 'msg', addr: '127.0.0.1:1', load: 0, meta: { ip1: '9.9.9.9', curConn: 0 } });
    try {
      await waitFor(() => watch.get('gw-0-broken') !== undefined, 5000);
      expect(await json()).toMatchObject({ code: PICK_OK, port: '8001' });
    } finally {
      await broken.deregister();
    }
  });

  it('answers code 2 when every gateway is full', async () => {
    await setConn('gw-a', 100, 100);
    await setConn('gw-b', 7, 7);
    await watchShows({ 'gw-a': 100, 'gw-b': 7 });
    expect(await json()).toEqual({ code: PICK_FULL, msg: '负载过高' });
  });

  it('answers code 1 again once every gateway is gone', async () => {
    for (const [id, reg] of gateways) {
      await reg.deregister();
      gateways.delete(id);
    }
    await watchShows({ 'gw-a': undefined, 'gw-b': undefined });
    expect(await json()).toEqual({ code: PICK_NONE, msg: '没有msg_server' });
  });

  it('closes without any response on other paths', async () => {
    for (const path of ['/', '/msg', '/index.html', '/api/msg_server']) {
      const reply = await get(port, path);
      expect(reply.raw).toBe('');
    }
  });

  it('closes requests over 1024 bytes without a response', async () => {
    const bigHeader = await exchange(port, `GET /msg_server HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(1100)}\r\n\r\n`);
    expect(bigHeader.raw).toBe('');

    // Head under the limit, body pushing the whole request over it, sent in pieces.
    const head = 'POST /msg_server HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n';
    const bigBody = await exchange(port, head, 'b'.repeat(500), 'b'.repeat(500));
    expect(bigBody.raw).toBe('');

    const declared = await exchange(port, 'POST /msg_server HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n');
    expect(declared.raw).toBe('');

    // Just under the limit still gets an answer.
    const pad = 'a'.repeat(1024 - 'GET /msg_server HTTP/1.1\r\nX: \r\n\r\n'.length);
    const edge = await exchange(port, `GET /msg_server HTTP/1.1\r\nX: ${pad}\r\n\r\n`);
    expect(edge.status).toBe('HTTP/1.1 200 OK');
  });

  it('closes malformed requests without a response', async () => {
    expect((await exchange(port, 'HELLO\r\n\r\n')).raw).toBe('');
  });
});

describe('login HTTP server idle timeout', () => {
  it('closes a connection that sends nothing', async () => {
    const logger = createLogger({ service: 'login', instanceId: 'login-test', level: 'silent' });
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      pick: () => pickGateway([]),
      msfsUrl: MSFS,
      discoveryUrl: DISCOVERY,
      logger,
      idleTimeoutMs: 200,
    });
    try {
      const started = Date.now();
      const reply = await exchange(server.address.port);
      expect(reply.raw).toBe('');
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    } finally {
      await server.close(100);
    }
  });
});

describe('priorIP/backupIP order', () => {
  const pick = { code: PICK_OK, invalid: [], gateway: { id: 'g', ip1: 'one', ip2: 'two', port: 8000, curConn: 0, maxConn: 1 } } as const;
  const urls = { msfsUrl: MSFS, discoveryUrl: DISCOVERY };

  it('gives IPv4 clients ip1 first and everyone else ip2 first', () => {
    expect(responseBody(pick, '203.0.113.7', urls)).toMatchObject({ priorIP: 'one', backupIP: 'two' });
    expect(responseBody(pick, '::ffff:203.0.113.7', urls)).toMatchObject({ priorIP: 'one', backupIP: 'two' });
    expect(responseBody(pick, '2001:db8::1', urls)).toMatchObject({ priorIP: 'two', backupIP: 'one' });
    expect(responseBody(pick, '::1', urls)).toMatchObject({ priorIP: 'two', backupIP: 'one' });
  });

  it('recognises IPv4 the way TeamTalk does', () => {
    expect(looksLikeIpv4('10.1.2.3')).toBe(true);
    expect(looksLikeIpv4('::FFFF:10.1.2.3')).toBe(true);
    expect(looksLikeIpv4('fe80::1')).toBe(false);
    expect(looksLikeIpv4('')).toBe(false);
  });
});

describe('login over HTTPS', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tt-login-https-'));
  const pki = createDevPki(dir, ['login']);
  const logger = createLogger({ service: 'login', instanceId: 'login-test', level: 'silent' });
  const certificate = new ServerCertificate(pki.certFor('login'), { logger, pollMs: 0, sighup: false });
  const gateway = { id: 'gw-tls', service: 'msg', addr: '127.0.0.1:1', load: 0, meta: { ip1: '10.0.0.9', ip2: '10.0.0.9', port: 8000, tlsPort: 8443, wsPort: 8400, maxConn: 10, curConn: 0 } };
  let server: LoginHttpServer;

  beforeAll(async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      pick: () => pickGateway([gateway]),
      msfsUrl: MSFS,
      discoveryUrl: DISCOVERY,
      logger,
      tls: { certificate, handshakeTimeoutMs: 300 },
    });
  });
  afterAll(async () => {
    await server.close(100);
    certificate.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers TeamTalk JSON plus tlsPort to a client that verifies the certificate', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: server.address.port, path: '/msg_server', ca: readFileSync(pki.caCert) }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(JSON.parse(body)).toEqual({
      code: PICK_OK, msg: '', priorIP: '10.0.0.9', backupIP: '10.0.0.9', port: '8000', msfsPrior: MSFS, msfsBackup: MSFS, discovery: DISCOVERY, tlsPort: '8443',
    });
  });

  it('answers nothing in plaintext and closes a connection that never starts its handshake', async () => {
    expect((await get(server.address.port)).raw).not.toContain('"code"');
    const started = Date.now();
    expect((await exchange(server.address.port)).raw).toBe('');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
