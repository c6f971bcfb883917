import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@tiertalk/log';
import { metricsRegistry } from '@tiertalk/metrics';
import { send, teamtalkForm, teamtalkUpload, TEAMTALK_BOUNDARY } from '../test/teamtalk-upload';
import { DEFAULT_ALLOWED_TYPES } from './config';
import { startMsfsHttpServer, type MsfsHttpServer } from './http-server';
import { LocalFileStore, S3FileStore } from '@tiertalk/storage';
import { waitFor } from '@tiertalk/testkit';

const MAX = 64 * 1024;
const logger = createLogger({ service: 'msfs', instanceId: 'test', level: (process.env.MSFS_TEST_LOG as 'info' | undefined) ?? 'silent' });

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  return data.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((sum, v) => sum + v.value, 0);
}

function image(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) % 256;
  return b;
}

describe('msfs HTTP (TeamTalk upload/download)', () => {
  let dir: string;
  let server: MsfsHttpServer;
  let base: string;
  const start = async (extra: Partial<Parameters<typeof startMsfsHttpServer>[0]> = {}): Promise<void> => {
    server = await startMsfsHttpServer({
      host: '127.0.0.1',
      port: 0,
      store: new LocalFileStore(path.join(dir, 'files')),
      maxFileBytes: MAX,
      allowedTypes: DEFAULT_ALLOWED_TYPES,
      uploadsPerMinute: 0,
      idleTimeoutMs: 10_000,
      logger,
      serveMetrics: true,
      ...extra,
    });
    base = `http://127.0.0.1:${server.address.port}/`;
  };
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'msfs-http-'));
    await start();
  });
  afterEach(async () => {
    await server.close(100);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores an upload sent as a TeamTalk client sends it and serves it back by the returned path', async () => {
    const bytes = image(40_000);
    const okBefore = await counter('tt_msfs_uploads_total', { result: 'ok' });
    const up = await teamtalkUpload(base, 'IMG_20150101_640x480.jpg', bytes);
    expect(up.status).toBe(200);
    expect(up.headers['content-type']).toBe('text/html;charset=utf-8');
    const answer = JSON.parse(up.body.toString('utf8'));
    expect(answer).toEqual({ error_code: 0, error_msg: '成功', path: expect.stringMatching(/^g0\/\d{3}\/\d{3}\/\d+_\d+_640x480\.jpg$/), url: `${base}${answer.path}` });
    expect(up.body.toString('utf8')).toContain('"error_msg": "成功"');
    expect(await counter('tt_msfs_uploads_total', { result: 'ok' })).toBe(okBefore + 1);

    const down = await send(answer.url, undefined);
    expect(down.status).toBe(200);
    expect(down.headers['content-type']).toBe('image/jpg');
    expect(Number(down.headers['content-length'])).toBe(bytes.length);
    expect(down.body.equals(bytes)).toBe(true);
    const head = await send(answer.url, undefined, { method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, String(bytes.length), 0]);
  });

  it('accepts a chunked upload, a file of exactly the limit, and any POST path', async () => {
    const bytes = image(MAX);
    const up = await teamtalkUpload(`${base}upload`, 'voice.amr', bytes, { chunkBytes: 5000 });
    const answer = JSON.parse(up.body.toString('utf8'));
    expect(answer.error_code).toBe(0);
    const down = await send(answer.url, undefined);
    expect(down.headers['content-type']).toBe('audio/amr');
    expect(down.body.equals(bytes)).toBe(true);
  });

  it('uses the Host header for url as TeamTalk did, or the configured public URL', async () => {
    const viaHost = await teamtalkUpload(base, 'a.png', image(10), { headers: { Host: 'files.example:8700' } });
    expect(JSON.parse(viaHost.body.toString()).url).toMatch(/^http:\/\/files\.example:8700\/g0\//);
    const odd = await teamtalkUpload(base, 'a.png', image(10), { headers: { Host: 'evil"/><x' } });
    expect(JSON.parse(odd.body.toString()).url.startsWith(base)).toBe(true);
    await server.close(100);
    await start({ publicUrl: 'https://cdn.example/msfs/' });
    const fixed = JSON.parse((await teamtalkUpload(base, 'a.png', image(10))).body.toString());
    expect(fixed.url).toBe(`https://cdn.example/msfs/${fixed.path}`);
  });

  it('refuses a declared Content-Length over the limit with TeamTalk error 1, storing nothing', async () => {
    const before = await counter('tt_msfs_uploads_total', { result: 'too_large' });
    const up = await teamtalkUpload(base, 'big.jpg', image(MAX + 70 * 1024));
    expect(up.status).toBe(200);
    expect(up.body.toString('utf8')).toBe('{"error_code":1,"error_msg": "上传文件过大","url":""}');
    expect(await counter('tt_msfs_uploads_total', { result: 'too_large' })).toBe(before + 1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a streamed file that grows past the limit, and keeps no partial file', async () => {
    const up = await teamtalkUpload(base, 'big.jpg', image(MAX + 1), { chunkBytes: 4096 });
    expect(JSON.parse(up.body.toString('utf8'))).toEqual({ error_code: 1, error_msg: '上传文件过大', url: '' });
    const files = path.join(dir, 'files');
    const left = readdirSync(files, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(left).toEqual([]);
  });

  it('refuses types off the allow-list (by extension and by declared part type) with error 12', async () => {
    const before = await counter('tt_msfs_uploads_total', { result: 'type_not_allowed' });
    for (const [name, partType] of [['page.html', 'application/octet-stream'], ['run.exe', 'application/octet-stream'], ['a.png', 'text/html']]) {
      const up = await teamtalkUpload(base, name, Buffer.from('<script>alert(1)</script>'), { partType });
      expect(JSON.parse(up.body.toString('utf8'))).toEqual({ error_code: 12, error_msg: '文件类型不允许', path: '', url: '' });
    }
    expect(await counter('tt_msfs_uploads_total', { result: 'type_not_allowed' })).toBe(before + 3);
  });

  it('answers malformed forms with TeamTalk format errors', async () => {
    const bad = async (body: Buffer, contentType: string): Promise<unknown> =>
      JSON.parse((await send(base, body, { headers: { 'Content-Type': contentType } })).body.toString('utf8'));
    const multipart = `multipart/form-data; boundary=${TEAMTALK_BOUNDARY}`;
    expect(await bad(Buffer.from('x'), 'application/octet-stream')).toEqual({ error_code: 4, error_msg: '格式错误', path: '', url: '' });
    expect(await bad(Buffer.from(`--${TEAMTALK_BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--${TEAMTALK_BOUNDARY}--\r\n`), multipart)).toMatchObject({ error_code: 3 });
    expect(await bad(Buffer.from(`--${TEAMTALK_BOUNDARY}--\r\n`), multipart)).toMatchObject({ error_code: 2 });
    expect(await bad(teamtalkForm('noext', Buffer.from('x')), multipart)).toMatchObject({ error_code: 10 });
    expect(await bad(teamtalkForm('a.abcdefghijklmnopq', Buffer.from('x')), multipart)).toMatchObject({ error_code: 9 });
    const cut = teamtalkForm('a.jpg', image(100)).subarray(0, 150);
    expect(await bad(cut, multipart)).toMatchObject({ error_code: 8 });

    expect(await counter('tt_msfs_uploads_total', { result: 'bad_form' })).toBeGreaterThanOrEqual(6);
  });

  it('removes a file already stored when the form breaks after it', async () => {
    const root = path.join(dir, 'files');
    const files = (): string[] =>
      existsSync(root) ? readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name) : [];
    const complete = teamtalkForm('b.jpg', image(100)).subarray(0, -`--${TEAMTALK_BOUNDARY}--\r\n`.length);
    const answer = new Promise<string>((resolve, reject) => {
      const req = http.request(base, { method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${TEAMTALK_BOUNDARY}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
      req.on('error', reject);
      // The whole file part and the boundary after it: the file is stored...
      req.write(Buffer.concat([complete, Buffer.from(`--${TEAMTALK_BOUNDARY}\r\n`)]));
      // ...then the form ends without its closing boundary.
      void waitFor(() => files().some((f) => f.endsWith('.jpg')), 5000, { what: 'the file part stored' }).then(() => req.end(), reject);
    });
    expect(JSON.parse(await answer)).toMatchObject({ error_code: 8 });
    expect(files()).toEqual([]);
  });

  it('answers 404 for missing files and for paths that try to leave the store', async () => {
    for (const p of ['g0/000/000/1_1.jpg', '../../etc/passwd', 'g0/000/000/..%2f..%2fpasswd.jpg', '%2e%2e/%2e%2e/etc/hosts', 'g0/000/000/a.jpg/..']) {
      const down = await send(`${base}${p}`, undefined);
      expect([p, down.status, down.body.length]).toEqual([p, 404, 0]);
    }
    expect(await counter('tt_msfs_downloads_total', { result: 'bad_path' })).toBeGreaterThanOrEqual(3);
  });

  it('answers other methods with TeamTalk 403', async () => {
    const res = await send(`${base}g0/000/000/1_1.jpg`, Buffer.from(''), { method: 'DELETE' });
    expect(res.status).toBe(403);
  });

  it('limits uploads per client address when configured (429, TeamTalk-shaped answer)', async () => {
    await server.close(100);
    await start({ uploadsPerMinute: 2 });
    const codes = [];
    for (let i = 0; i < 3; i++) {
      const up = await teamtalkUpload(base, 'a.gif', image(100));
      codes.push([up.status, JSON.parse(up.body.toString('utf8')).error_code]);
      if (i === 2) expect(Number(up.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(codes).toEqual([[200, 0], [200, 0], [429, 13]]);
  });

  it('counts an upload the client abandons half-way and keeps no partial file', async () => {
    const before = await counter('tt_msfs_uploads_total', { result: 'aborted' });
    const form = teamtalkForm('half.jpg', image(50_000));
    await new Promise<void>((resolve) => {
      const req = http.request(base, { method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${TEAMTALK_BOUNDARY}`, 'Content-Length': form.length } });
      req.on('error', () => resolve());
      req.write(form.subarray(0, 20_000), () => {
        req.destroy();
        resolve();
      });
    });
    await waitFor(async () => (await counter('tt_msfs_uploads_total', { result: 'aborted' })) === before + 1, 5000, { what: 'the aborted upload counted' });
    const left = readdirSync(path.join(dir, 'files'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(left).toEqual([]);
  });

  it('answers TeamTalk-shaped error 14 with HTTP 500 when the store fails', async () => {
    await server.close(100);
    // An S3 endpoint where nothing listens: a port taken and released.
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const store = new S3FileStore({ bucket: 'b', keyPrefix: '', region: 'us-east-1', endpoint: `http://127.0.0.1:${closed}`, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    await start({ store });
    try {
      const up = await teamtalkUpload(base, 'a.png', image(1000));
      expect(up.status).toBe(500);
      expect(JSON.parse(up.body.toString('utf8'))).toEqual({ error_code: 14, error_msg: '存储失败', path: '', url: '' });
      const down = await send(`${base}g0/000/000/1_1.png`, undefined);
      expect(down.status).toBe(500);
    } finally {
      store.close();
    }
  });

  it('lets an allowed page upload cross-origin: preflight for POST, readable answers; others are refused', async () => {
    await server.close(100);
    await start({ corsOrigins: ['http://127.0.0.1:8090'] });
    const page = 'http://127.0.0.1:8090';
    const preflight = await send(base, undefined, { method: 'OPTIONS', headers: { Origin: page, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({ 'access-control-allow-origin': page, 'access-control-allow-methods': 'POST, GET, HEAD', 'access-control-allow-headers': 'Content-Type' });

    const up = await teamtalkUpload(base, 'a.png', image(100), { headers: { Origin: page } });
    expect(up.headers['access-control-allow-origin']).toBe(page);
    const answer = JSON.parse(up.body.toString('utf8'));
    expect(answer.error_code).toBe(0);
    const refused = await teamtalkUpload(base, 'a.html', image(100), { headers: { Origin: page } });
    expect([JSON.parse(refused.body.toString('utf8')).error_code, refused.headers['access-control-allow-origin']]).toEqual([12, page]);
    const down = await send(answer.url, undefined, { headers: { Origin: page } });
    expect([down.status, down.headers['access-control-allow-origin'], down.headers.vary]).toEqual([200, page, 'Origin']);

    const before = await counter('tt_refusals_total', { reason: 'msfs_cors_not_allowed' });
    const other = await send(base, undefined, { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect([other.status, other.headers['access-control-allow-origin']]).toEqual([403, undefined]);
    expect(await counter('tt_refusals_total', { reason: 'msfs_cors_not_allowed' })).toBe(before + 1);
    const otherUpload = await teamtalkUpload(base, 'a.png', image(100), { headers: { Origin: 'http://evil.example' } });
    expect(otherUpload.headers['access-control-allow-origin']).toBeUndefined();
    // Without a page (a TeamTalk client) nothing changes.
    expect((await teamtalkUpload(base, 'a.png', image(100))).headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers any page with "*" when so configured, without CORS headers by default', async () => {
    const plain = await send(base, undefined, { method: 'OPTIONS', headers: { Origin: 'http://a.example', 'Access-Control-Request-Method': 'POST' } });
    expect(plain.status).toBe(403);
    await server.close(100);
    await start({ corsOrigins: ['*'] });
    const pre = await send(base, undefined, { method: 'OPTIONS', headers: { Origin: 'http://a.example', 'Access-Control-Request-Method': 'POST' } });
    expect([pre.status, pre.headers['access-control-allow-origin']]).toEqual([204, '*']);
    const up = await teamtalkUpload(base, 'a.gif', image(10), { headers: { Origin: 'http://a.example' } });
    expect(up.headers['access-control-allow-origin']).toBe('*');
  });

  it('serves /metrics with the msfs counters', async () => {
    const res = await send(`${base}metrics`, undefined);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('tt_msfs_uploads_total{result="ok"}');
  });
});
