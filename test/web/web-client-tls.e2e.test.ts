// The web client against a cluster with client TLS (as `make up` runs it): login's
// web port serves the page over HTTPS, the gateway's WebSocket port speaks wss://,
// and Chromium accepts exactly the development certificates' keys (not any certificate).
// Its msfs speaks plain http, which an https page may not upload to.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { TeamTalkClient, decryptContent, encryptContent } from '@tiertalk/client';
import { Cluster, flushTestRedis, freePort, prepareTestDatabase, repoRoot } from '@tiertalk/testkit';
import { nextMessage, testDbPool, userId } from '../e2e/helpers';

jest.setTimeout(120_000);

const CHROMIUM = process.env.TT_CHROMIUM ?? '/usr/bin/chromium';
const LOG_DIR = path.join(repoRoot, '.run', 'test-logs', 'web-tls');

let cluster: Cluster;
let browser: Browser;
let pkiDir: string;
let webUrl: string;
let bob: TeamTalkClient;
const ids: Record<string, number> = {};

/** Chromium's --ignore-certificate-errors-spki-list entry of a PEM certificate: base64 SHA-256 of its public key. */
function spkiHash(certFile: string): string {
  const spki = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

beforeAll(async () => {
  mkdirSync(LOG_DIR, { recursive: true });
  await prepareTestDatabase();
  await flushTestRedis();
  pkiDir = mkdtempSync(path.join(os.tmpdir(), 'web-tls-'));
  const webPort = await freePort();
  cluster = await Cluster.start({ msg: 1, login: true, msfs: true, clientTls: { dir: pkiDir }, logDir: LOG_DIR, serviceEnv: { login: { TT_WEB_ENABLED: 'true', TT_WEB_PORT: String(webPort) } } });
  webUrl = `https://127.0.0.1:${webPort}`;
  const pool = testDbPool();
  for (const name of ['alice', 'bob']) ids[name] = await userId(pool, name);
  await pool.end();
  const gw = cluster.gateways()[0];
  bob = await TeamTalkClient.connect({ host: '127.0.0.1', port: gw.tlsPort ?? 0, tls: { caFile: cluster.caFile }, heartbeatMs: 0 });
  await bob.login('bob', 'tiertalk');
  const trusted = [spkiHash(path.join(pkiDir, 'login.crt')), spkiHash(path.join(pkiDir, 'msg.crt'))].join(',');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${trusted}`] });
});

afterAll(async () => {
  await browser?.close();
  bob?.close();
  await cluster?.stop();
  if (pkiDir) rmSync(pkiDir, { recursive: true, force: true });
});

it('signs in over https and chats over wss://', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${webUrl}/web/`);
  await page.fill('#user', 'alice');
  await page.fill('#password', 'tiertalk');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector(`#directory [data-key="u${ids.bob}"][data-online="true"]`);

  await page.click(`#directory [data-key="u${ids.bob}"]`);
  await page.waitForSelector('#messages[data-loaded="true"]');
  const atBob = nextMessage(bob);
  await page.fill('#compose', 'over wss');
  await page.press('#compose', 'Enter');
  expect(decryptContent((await atBob).msgData)).toBe('over wss');
  await bob.sendText(ids.alice, encryptContent('back over TLS'));
  await page.locator('#messages .msg', { hasText: 'back over TLS' }).waitFor();
  // msfs speaks plain http here: the browser would block the upload from this https page, and the page says so.
  expect(await page.isDisabled('#attach')).toBe(true);
  expect(await page.getAttribute('#attach-button', 'title')).toBe(
    `Pictures cannot be sent: the file store ${cluster.msfsUrl} is http:// and this page is https://: the browser blocks the upload (msfs needs an https address, docs/MSFS.md)`,
  );
  await context.close();
});

it('is refused by a browser that does not trust the development CA', async () => {
  const strict = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const page = await strict.newPage();
    await expect(page.goto(`${webUrl}/web/`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await strict.close();
  }
});
