import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@tiertalk/log';
import { metricsRegistry } from '@tiertalk/metrics';
import { PICK_OK, type GatewayPick } from './gateway-picker';
import { loadWebFiles } from './web-files';
import { startWebServer, type WebServer } from './web-server';
import { fixedMsfs } from './msfs-picker';

let gatewayWss = false;
const gateway = (): GatewayPick => ({ code: PICK_OK, gateway: { id: 'gw', ip1: '10.0.0.1', ip2: '10.0.0.2', port: 8000, wsPort: 8400, ...(gatewayWss ? { wss: true } : {}), curConn: 0, maxConn: 10 }, invalid: [] });

async function counted(result: string): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric('tt_login_web_requests_total')?.get();
  return metric?.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('login web client port', () => {
  let dir: string;
  let server: WebServer;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'web-'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>TierTalk</title>');
    writeFileSync(path.join(dir, 'app.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'notes.txt'), 'not served');
    server = await startWebServer({
      host: '127.0.0.1',
      port: 0,
      files: loadWebFiles(dir),
      pick: gateway,
      msfs: fixedMsfs('http://files.example:8700/'),
      discoveryUrl: 'http://127.0.0.1/api/discovery',
      logger: createLogger({ service: 'login', instanceId: 'test', level: 'silent' }),
    });
    base = `http://127.0.0.1:${server.address.port}`;
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page and its files with their types, and sends / to /web/', async () => {
    const page = await fetch(`${base}/web/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<title>TierTalk</title>');
    const js = await fetch(`${base}/web/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1)');
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/web/');
  });

  it('answers /msg_server with the gateway and its WebSocket port', async () => {
    const res = await fetch(`${base}/msg_server`);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 0, priorIP: '10.0.0.1', port: '8000', wsPort: '8400', msfsPrior: 'http://files.example:8700/' });
    expect(body).not.toHaveProperty('wss');
    gatewayWss = true;
    expect(await (await fetch(`${base}/msg_server`)).json()).toMatchObject({ wsPort: '8400', wss: '1' });
    gatewayWss = false;
  });

  it('refuses what it does not serve: unknown names, paths outside the directory, other methods (counted)', async () => {
    const notFound = await counted('not_found');
    for (const p of ['/web/notes.txt', '/web/../web-server.ts', '/web/%2e%2e/x', '/other']) {
      const res = await fetch(`${base}${p}`);
      expect(res.status).toBe(404);
    }
    expect(await counted('not_found')).toBe(notFound + 4);
    const post = await fetch(`${base}/web/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(await counted('bad_method')).toBeGreaterThanOrEqual(1);
  });

  it('will not start from a directory without a built page', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'web-empty-'));
    try {
      expect(() => loadWebFiles(empty)).toThrow(/no index.html: build the web client/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
