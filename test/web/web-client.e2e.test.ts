// The browser client end to end (docs/WEB-CLIENT.md): Debian's Chromium, driven by
// playwright-core, loads the page from login's web port and speaks TeamTalk PDUs
// over the gateway's WebSocket port. Two browser contexts are alice and bob; carol
// is a Node SDK client sending like a stock TeamTalk client (encrypted text, an
// image as an URL between TeamTalk's markers). Pictures the page sends go through
// the cluster's msfs, another origin than the page (CORS). Every wait is on the page's DOM.
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Pool } from 'mysql2/promise';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SessionType, TeamTalkClient, decryptContent, encryptContent } from '@tiertalk/client';
import { Cluster, flushTestRedis, freePort, prepareTestDatabase, repoRoot, waitFor } from '@tiertalk/testkit';
import { ANDROID, PC, collectMessages, loggedIn, nextMessage, testDbPool, userId } from '../e2e/helpers';

jest.setTimeout(120_000);

const CHROMIUM = process.env.TT_CHROMIUM ?? '/usr/bin/chromium';
const LOG_DIR = path.join(repoRoot, '.run', 'test-logs', 'web');
const PAGE_SIZE = 5;
// What an msfs download of an uploaded picture returns (msfs itself is another service; any HTTP server does here).
const PICTURE = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="140" viewBox="0 0 240 140">' +
    '<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#8ec5ff"/><stop offset="1" stop-color="#e0f0ff"/></linearGradient></defs>' +
    '<rect width="240" height="140" fill="url(#sky)"/><circle cx="190" cy="38" r="18" fill="#ffd45c"/>' +
    '<path d="M0 140 L70 60 L120 110 L160 75 L240 140 Z" fill="#3f8f5f"/></svg>',
);
const PICTURE_PATH = '/g0/000/000/release.svg';
const IMAGE_START = '&$#@~^@[{:';
const IMAGE_END = ':}]&$~@#@';
// msfs's file limit here: the oversize upload is a little over it (msfs answers files up to twice the limit).
const MSFS_MAX_FILE_BYTES = 200_000;

/** A real PNG (RGB, a gradient with noise so it does not compress to nothing) a browser decodes. */
function testPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(typed), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // RGB
  const row = width * 3 + 1;
  const pixels = Buffer.alloc(row * height);
  let seed = 7;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const at = y * row + 1 + x * 3;
      pixels[at] = (x * 255) / width + (seed & 15);
      pixels[at + 1] = (y * 255) / height;
      pixels[at + 2] = 160 + ((seed >> 8) & 31);
    }
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(pixels)), chunk('IEND', Buffer.alloc(0))]);
}

/** Evaluated in a page: the picture at this URL is shown, downloaded and decoded at this width. */
const pictureShown = (url: string, width: number): string =>
  `(() => { const img = [...document.querySelectorAll('#messages .msg img.image')].find((i) => i.getAttribute('src') === ${JSON.stringify(url)}); return img !== undefined && img.complete && img.naturalWidth === ${width}; })()`;

// Evaluated in the page: the picture was downloaded and decoded.
const IMAGE_LOADED = "(() => { const img = document.querySelector('#messages .msg img.image'); return img !== null && img.complete && img.naturalWidth === 240; })()";

let cluster: Cluster;
let pool: Pool;
let browser: Browser;
let images: http.Server;
let imageBase: string;
let webUrl: string;
const ids: Record<string, number> = {};
const contexts: BrowserContext[] = [];
const clients: TeamTalkClient[] = [];

async function signIn(user: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${user} page] ${err.message}`));
  await page.goto(`${webUrl}/web/?pageSize=${PAGE_SIZE}`);
  await page.fill('#user', user);
  await page.fill('#password', 'tiertalk');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#chat-view:not([hidden]) #directory .entry');
  return page;
}

const entry = (key: string): string => `#directory [data-key="${key}"]`;
const messageWith = (page: Page, text: string) => page.locator('#messages .msg', { hasText: text });

async function messageTexts(page: Page): Promise<string[]> {
  return page.locator('#messages .msg .body').allTextContents();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package (or set TT_CHROMIUM)`);
  mkdirSync(LOG_DIR, { recursive: true });
  await prepareTestDatabase();
  await flushTestRedis();
  const webPort = await freePort();
  webUrl = `http://127.0.0.1:${webPort}`;
  cluster = await Cluster.start({
    msg: 1,
    login: true,
    msfs: true,
    logDir: LOG_DIR,
    serviceEnv: {
      login: { TT_WEB_ENABLED: 'true', TT_WEB_PORT: String(webPort) },
      // Only the page's origin may upload from a browser.
      msfs: { TT_MSFS_MAX_FILE_BYTES: String(MSFS_MAX_FILE_BYTES), TT_MSFS_CORS_ORIGINS: webUrl },
    },
  });
  pool = testDbPool();
  for (const name of ['alice', 'bob', 'carol']) ids[name] = await userId(pool, name);
  images = http.createServer((req, res) => {
    res.writeHead(req.url === PICTURE_PATH ? 200 : 404, { 'Content-Type': 'image/svg+xml' });
    res.end(req.url === PICTURE_PATH ? PICTURE : undefined);
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imageBase = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  for (const c of clients) c.close();
  await new Promise((resolve) => (images ? images.close(resolve) : resolve(undefined)));
  await cluster?.stop();
  await pool?.end();
});

describe('web client in Chromium', () => {
  it('two users chat 1:1 and in a group, with unread counts, history pages, images and presence', async () => {
    // carol, a stock-like client, writes to alice while alice is away, and sets up a group.
    const carol = await loggedIn(cluster.gateways()[0], 'carol', PC);
    clients.push(carol);
    for (let i = 1; i <= 7; i += 1) await carol.sendText(ids.alice, encryptContent(`history ${i}`));
    const { groupId } = await carol.groups.createGroup('Web team', '', [ids.carol, ids.alice, ids.bob]);
    await carol.groups.sendGroupText(groupId, encryptContent('welcome to the web team'));

    const alice = await signIn('alice');
    // Unread from the server, before anything is opened; bob is offline.
    await alice.waitForSelector(`${entry(`u${ids.carol}`)} .badge[data-unread="7"]`);
    expect(await alice.title()).toBe('(8) Alice · TierTalk');
    await alice.waitForSelector(`${entry(`u${ids.bob}`)}[data-online="false"]`);
    await alice.waitForSelector(`${entry(`g${groupId}`)}:has-text("Web team") .badge[data-unread="1"]`);

    // Presence: bob signs in, alice sees him come online.
    const bob = await signIn('bob');
    await alice.waitForSelector(`${entry(`u${ids.bob}`)}[data-online="true"]`);

    // History: the latest page of 5, then the page before it; opening clears the badge.
    await alice.click(entry(`u${ids.carol}`));
    await messageWith(alice, 'history 7').waitFor();
    expect(await messageTexts(alice)).toEqual(['history 3', 'history 4', 'history 5', 'history 6', 'history 7']);
    await alice.waitForSelector(`${entry(`u${ids.carol}`)}:not(:has(.badge))`);
    await alice.click('#load-older:not([hidden])');
    await messageWith(alice, 'history 1').waitFor();
    expect(await messageTexts(alice)).toEqual(['history 1', 'history 2', 'history 3', 'history 4', 'history 5', 'history 6', 'history 7']);
    await alice.waitForSelector('#load-older[hidden]', { state: 'attached' });
    // The server counts the session as read too: a fresh sign-in would show no badge.
    const aliceMobile = await loggedIn(cluster.gateways()[0], 'alice', ANDROID);
    clients.push(aliceMobile);
    // (The read ack has no answer: wait until the server has applied it.)
    const carolUnread = async (): Promise<number> =>
      (await aliceMobile.unreadCounts()).unreadinfoList.find((u) => u.sessionId === ids.carol && u.sessionType === SessionType.SESSION_TYPE_SINGLE)?.unreadCnt ?? 0;
    await waitFor(async () => (await carolUnread()) === 0, 5000, { what: "alice's unread count of carol's session to reach 0 on the server" });

    // An image as a stock client sends it: shown as a loaded picture.
    await carol.sendText(ids.alice, encryptContent(`look ${IMAGE_START}${imageBase}${PICTURE_PATH}${IMAGE_END}`));
    const img = alice.locator('#messages .msg img.image');
    await img.waitFor();
    await alice.waitForFunction(IMAGE_LOADED);
    expect(await img.getAttribute('src')).toBe(`${imageBase}${PICTURE_PATH}`);

    // 1:1 between the browsers: a badge at bob until he opens the conversation.
    await alice.click(entry(`u${ids.bob}`));
    await alice.waitForSelector('#messages[data-loaded="true"]');
    await alice.fill('#compose', 'hi bob');
    await alice.press('#compose', 'Enter');
    await messageWith(alice, 'hi bob').waitFor();
    await bob.waitForSelector(`${entry(`u${ids.alice}`)} .badge[data-unread="1"]`);
    await bob.click(entry(`u${ids.alice}`));
    await messageWith(bob, 'hi bob').waitFor();
    await bob.fill('#compose', 'hi alice');
    await bob.click('#composer button[type=submit]');
    // alice has the conversation open: the reply shows, no badge.
    await messageWith(alice, 'hi alice').waitFor();
    expect(await alice.locator(`${entry(`u${ids.bob}`)} .badge`).count()).toBe(0);

    // Group: bob writes, alice gets a badge on the group, carol's stock client decrypts the same text.
    const carolGets = nextMessage(carol);
    await bob.click(entry(`g${groupId}`));
    await bob.waitForSelector('#messages[data-loaded="true"]');
    await bob.fill('#compose', 'hello team');
    await bob.press('#compose', 'Enter');
    await messageWith(bob, 'hello team').waitFor();
    const atCarol = await carolGets;
    expect(atCarol.toSessionId).toBe(groupId);
    expect(decryptContent(atCarol.msgData)).toBe('hello team');
    await alice.waitForSelector(`${entry(`g${groupId}`)} .badge[data-unread="2"]`);
    await alice.click(entry(`g${groupId}`));
    await messageWith(alice, 'hello team').waitFor();
    expect(await messageTexts(alice)).toEqual(['welcome to the web team', 'hello team']);
    await alice.fill('#compose', 'Looks good, shipping it today.');
    await alice.press('#compose', 'Enter');
    await messageWith(bob, 'Looks good, shipping it today.').waitFor();

    // bob closes his browser: alice sees him go offline.
    await bob.context().close();
    await alice.waitForSelector(`${entry(`u${ids.bob}`)}[data-online="false"]`);

    // The page kept in docs/ (docs/web-client.png) is a copy of this one: the group, with a picture from carol.
    await carol.groups.sendGroupText(groupId, encryptContent(`Release day view ${IMAGE_START}${imageBase}${PICTURE_PATH}${IMAGE_END}`));
    await alice.waitForFunction(IMAGE_LOADED);
    await alice.screenshot({ path: path.join(LOG_DIR, 'web-client.png') });
  });

  it('sends a picture through msfs: the other page and a stock client show it; msfs refusals are shown to the sender', async () => {
    const carol = await loggedIn(cluster.gateways()[0], 'carol', ANDROID);
    clients.push(carol);
    const { groupId } = await carol.groups.createGroup('Pictures', '', [ids.carol, ids.alice, ids.bob]);
    await carol.groups.sendGroupText(groupId, encryptContent('pictures go here'));
    const alice = await signIn('alice');
    const bob = await signIn('bob');
    for (const page of [bob, alice]) {
      await page.click(entry(`g${groupId}`));
      await messageWith(page, 'pictures go here').waitFor();
    }
    // Every progress figure alice's page shows, recorded as it changes.
    await alice.evaluate(
      "(() => { const shown = document.querySelector('#upload-percent'); window.progressSeen = []; new MutationObserver(() => window.progressSeen.push(shown.textContent)).observe(shown, { childList: true, characterData: true, subtree: true }); })()",
    );

    const png = testPng(200, 120);
    const carolGets = nextMessage(carol, 15_000);
    await alice.setInputFiles('#attach', { name: 'sunset_200x120.png', mimeType: 'image/png', buffer: png });

    // carol's stock-style client gets TeamTalk's image message: the msfs URL between the markers, encrypted as text.
    const atCarol = await carolGets;
    expect([atCarol.fromUserId, atCarol.toSessionId]).toEqual([ids.alice, groupId]);
    const content = decryptContent(atCarol.msgData) ?? '';
    expect(content.startsWith(IMAGE_START) && content.endsWith(IMAGE_END)).toBe(true);
    const url = content.slice(IMAGE_START.length, -IMAGE_END.length);
    expect(url.startsWith(cluster.msfsUrl)).toBe(true);
    expect(url.slice(cluster.msfsUrl.length)).toMatch(/^g0\/\d{3}\/\d{3}\/\d+_\d+_200x120\.png$/);
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(png)).toBe(true);

    // Both pages show the picture, decoded.
    await bob.waitForFunction(pictureShown(url, 200));
    await alice.waitForFunction(pictureShown(url, 200));
    await alice.waitForSelector('#upload', { state: 'hidden' });
    expect(await alice.evaluate('window.progressSeen')).toContain('100%');
    expect(await alice.textContent('#status')).toBe('');

    // A picture dropped on the conversation, and one pasted into the message box, go the same way.
    const dropped = testPng(40, 30);
    const pasted = testPng(30, 20);
    const carolGetsMore = collectMessages(carol);
    // Page-side expression: a DataTransfer holding the PNG as a file, as a drop or a paste carries it.
    const transfer = (png: Buffer, name: string): string =>
      `(() => { const dt = new DataTransfer(); dt.items.add(new File([Uint8Array.from(atob(${JSON.stringify(png.toString('base64'))}), (c) => c.charCodeAt(0))], ${JSON.stringify(name)}, { type: 'image/png' })); return dt; })()`;
    await alice.dispatchEvent('#messages', 'drop', { dataTransfer: await alice.evaluateHandle(transfer(dropped, 'dropped.png')) });
    await bob.waitForFunction("[...document.querySelectorAll('#messages .msg img.image')].some((i) => i.complete && i.naturalWidth === 40)");
    await alice.evaluate(`document.querySelector('#compose').dispatchEvent(new ClipboardEvent('paste', { clipboardData: ${transfer(pasted, 'image.png')}, bubbles: true, cancelable: true }))`);
    await bob.waitForFunction("[...document.querySelectorAll('#messages .msg img.image')].some((i) => i.complete && i.naturalWidth === 30)");
    await waitFor(() => carolGetsMore.length === 2, 5000, { what: 'carol to get the dropped and the pasted picture' });
    for (const [i, png] of [dropped, pasted].entries()) {
      const text = decryptContent(carolGetsMore[i].msgData) ?? '';
      const got = await fetch(text.slice(IMAGE_START.length, -IMAGE_END.length));
      expect(Buffer.from(await got.arrayBuffer()).equals(png)).toBe(true);
    }

    // Refusals come from msfs and are shown to alice; nothing is sent.
    await alice.setInputFiles('#attach', { name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(MSFS_MAX_FILE_BYTES + 50_000, 7) });
    await alice.waitForSelector('#status.error:has-text("msfs error 1:")');
    expect(await alice.textContent('#status')).toBe('Upload failed: the file is too large for the file store (msfs error 1: 上传文件过大)');
    await alice.setInputFiles('#attach', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') });
    await alice.waitForSelector('#status.error:has-text("msfs error 12:")');
    await alice.waitForSelector('#upload', { state: 'hidden' });
    // The next message carol gets is this text: the refused files sent nothing.
    const afterRefusals = nextMessage(carol);
    await alice.fill('#compose', 'after the refusals');
    await alice.press('#compose', 'Enter');
    expect(decryptContent((await afterRefusals).msgData)).toBe('after the refusals');
    expect(await bob.locator('#messages .msg img.image').count()).toBe(3);
  });

  it('shows a clear error for a wrong password and stays on the sign-in form', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${webUrl}/web/`);
    await page.fill('#user', 'alice');
    await page.fill('#password', 'wrong');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-error:has-text("refused")');
    expect(await page.isVisible('#login-view')).toBe(true);
    expect(await page.isHidden('#chat-view')).toBe(true);
  });
});
