// The operator's password tool (admin-cli-password.ts, built in dist) against a
// real database: the new password works as argon2id, the old one no longer does.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import type { RowDataPacket } from 'mysql2/promise';
import { IM } from '@tiertalk/proto';
import { createValidateHandler } from '../src/handlers/login/create-validate';
import { VALIDATE_BAD_CREDENTIALS, VALIDATE_OK } from '../src/handlers/login/validate';
import { MYSQL_ROOT, openStoreFixture, StoreFixture } from './store-fixture';
import { testValidateOptions } from './validate-fixture';

const CLI = path.resolve(__dirname, '../dist/admin-cli-password.js');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
let fx: StoreFixture;

function runCli(args: string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      // Cheap argon2 for the test; PATH etc. from the parent, no other TT_* keys.
      { env: { PATH: process.env.PATH ?? '', TT_ENV: 'development', TT_MYSQL_MASTER_URL: `${MYSQL_ROOT}/${fx.dbName}`, TT_ARGON2_MEMORY_KIB: '4096' } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 2) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

beforeAll(async () => {
  fx = await openStoreFixture('a_tt_dbproxy_admin_password_test');
});
afterAll(async () => {
  await fx.close();
});

it('sets an argon2id password; the old one stops working, for TierTalk and in IMUser', async () => {
  const validate = (name: string, pw: string) =>
    createValidateHandler({ master: fx.pool }, fx.redis, testValidateOptions(), pino({ level: 'silent' })).validate(
      IM.Server.IMValidateReq.create({ userName: name, password: md5(pw), clientIp: '192.0.2.1' }),
    );
  const res = await runCli(['bob'], 'n3w-Passw0rd\n');
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect(res.stdout).toMatch(/password of bob \(user \d+\) set \(argon2id\)/);
  const [[row]] = await fx.pool.query<RowDataPacket[]>("SELECT u.password, u.salt, h.hash FROM IMUser u JOIN IMUserPasswordHash h ON h.userId = u.id WHERE u.name = 'bob'");
  expect(row.hash).toMatch(/^\$argon2id\$/);
  // No password hashes to the value left in IMUser (TeamTalk's rule no longer accepts the old one).
  expect(row.password).not.toBe(md5(md5('tiertalk') + row.salt));
  expect((await validate('bob', 'n3w-Passw0rd')).resultCode).toBe(VALIDATE_OK);
  expect((await validate('bob', 'tiertalk')).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
});

it('refuses an unknown user and a missing password', async () => {
  expect((await runCli(['nobody'], 'x\n')).code).toBe(1);
  expect((await runCli(['alice'], '')).code).toBe(2);
  expect((await runCli([], 'x\n')).code).toBe(2);
});
