// The send API's settings: a token is required (env or file) and never shown;
// the message key follows the rule every service has for it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, maskConfig } from '@tiertalk/config';
import { TEAMTALK_DEFAULT_AES_KEY } from '@tiertalk/proto';
import { loadHttpApiConfig } from './config';

const TOKEN = 'k'.repeat(40);
const KEY = 'a'.repeat(32);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tt-http-api-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('reads the token from TT_HTTP_API_TOKEN or its _FILE, masks it, and has the documented defaults', () => {
  const file = path.join(dir, 'token');
  writeFileSync(file, `${TOKEN}\n`);
  const config = loadHttpApiConfig({ TT_HTTP_API_TOKEN_FILE: file, TT_AES_KEY: KEY });
  expect(config.TT_HTTP_API_TOKEN).toBe(TOKEN);
  expect(JSON.stringify(maskConfig(config))).not.toContain(TOKEN);
  expect(JSON.stringify(maskConfig(config))).not.toContain(KEY);
  expect([config.TT_HTTP_API_HOST, config.TT_HTTP_API_PORT, config.TT_HTTP_API_RATE_PER_SEC, config.TT_HTTP_API_SYSTEM_USER]).toEqual(['127.0.0.1', 8900, 50, 'system']);
});

it('refuses to start without a token or with a short one, in development too', () => {
  expect(() => loadHttpApiConfig({ TT_ENV: 'development' })).toThrow(/TT_HTTP_API_TOKEN: expected a token of at least 32 characters/);
  expect(() => loadHttpApiConfig({ TT_HTTP_API_TOKEN: 'short', TT_AES_KEY: KEY })).toThrow(ConfigError);
});

it("uses TeamTalk's message key only in development, and refuses it in production", () => {
  expect(loadHttpApiConfig({ TT_ENV: 'development', TT_HTTP_API_TOKEN: TOKEN }).TT_AES_KEY).toBe(TEAMTALK_DEFAULT_AES_KEY);
  expect(() => loadHttpApiConfig({ TT_HTTP_API_TOKEN: TOKEN })).toThrow(/TT_AES_KEY/);
  expect(() => loadHttpApiConfig({ TT_HTTP_API_TOKEN: TOKEN, TT_AES_KEY: TEAMTALK_DEFAULT_AES_KEY })).toThrow(/TT_AES_KEY: refused in production: TeamTalk's default AES key is published/);
  expect(() => loadHttpApiConfig({ TT_HTTP_API_TOKEN: TOKEN, TT_AES_KEY: 'short' })).toThrow(/TT_AES_KEY/);
});

it('refuses a rate below 1', () => {
  expect(() => loadHttpApiConfig({ TT_HTTP_API_TOKEN: TOKEN, TT_AES_KEY: KEY, TT_HTTP_API_RATE_PER_SEC: '0' })).toThrow(/TT_HTTP_API_RATE_PER_SEC/);
});
