// The admin HTTP service's settings: the token is required (env or file) and
// never shown; the CLI needs none of it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, maskConfig } from '@tiertalk/config';
import { loadAdminCliConfig, loadAdminHttpConfig } from './config';

const TOKEN = 'k'.repeat(40);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tt-admin-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('reads the token from TT_ADMIN_TOKEN or TT_ADMIN_TOKEN_FILE, and masks it', () => {
  expect(loadAdminHttpConfig({ TT_ADMIN_TOKEN: TOKEN }).TT_ADMIN_TOKEN).toBe(TOKEN);
  const file = path.join(dir, 'token');
  writeFileSync(file, `${TOKEN}\n`);
  const config = loadAdminHttpConfig({ TT_ADMIN_TOKEN_FILE: file });
  expect(config.TT_ADMIN_TOKEN).toBe(TOKEN);
  expect(JSON.stringify(maskConfig(config))).not.toContain(TOKEN);
  expect([config.TT_ADMIN_HTTP_HOST, config.TT_ADMIN_HTTP_PORT]).toEqual(['127.0.0.1', 8600]);
});

it('refuses to start without a token or with a short one, in development too', () => {
  expect(() => loadAdminHttpConfig({ TT_ENV: 'development' })).toThrow(ConfigError);
  expect(() => loadAdminHttpConfig({ TT_ADMIN_TOKEN: 'short' })).toThrow(/TT_ADMIN_TOKEN: expected a token of at least 32 characters/);
});

it('the CLI needs no token and logs only errors by default', () => {
  expect(loadAdminCliConfig({}).TT_LOG_LEVEL).toBe('error');
});
