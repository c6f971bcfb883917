// Operator's password tool: `node services/db-proxy/dist/admin-cli-password.js <userName>`
// reads the new password from stdin (first line; never from argv, which shows
// in `ps` and shell history) and stores it as argon2id only (docs/SECURITY.md
// "Passwords"). It writes MySQL directly, with db-proxy's own configuration
// (TT_MYSQL_MASTER_URL, TT_ARGON2_*), so no network RPC can set passwords.
// Exit codes: 0 set, 1 no such active user, 2 usage or connection error.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { createPool } from 'mysql2/promise';
import { exitOnConfigError } from '@tiertalk/config';
import { loadDbProxyConfig } from './config';
import { normaliseLoginName } from './handlers/login/login-subjects';
import { PasswordHasher } from './handlers/login/password-hasher';
import { LoginAccountStore } from './store/login-accounts';

const EXIT_OK = 0;
const EXIT_REFUSED = 1;
const EXIT_USAGE = 2;

export const PASSWORD_USAGE = `usage: echo 'new password' | node services/db-proxy/dist/admin-cli-password.js <userName>

Sets the user's password as argon2id. IMUser.password gets a random value no
password matches, so the old password stops working for TierTalk and for any
TeamTalk server reading the same database.
environment: db-proxy's (TT_MYSQL_MASTER_URL, TT_ARGON2_MEMORY_KIB, TT_ARGON2_TIME_COST, TT_ARGON2_PARALLELISM)
`;

const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let data = '';
  for await (const chunk of stream) {
    data += String(chunk);
    if (data.includes('\n') || data.length > 4096) break;
  }
  return data.split(/\r?\n/)[0] ?? '';
}

async function main(argv: readonly string[]): Promise<number> {
  const name = argv.length === 1 ? normaliseLoginName(argv[0]) : undefined;
  if (argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(PASSWORD_USAGE);
    return EXIT_OK;
  }
  if (name === undefined) {
    process.stderr.write(`admin-cli-password: expected one user name (1-32 characters)\n\n${PASSWORD_USAGE}`);
    return EXIT_USAGE;
  }
  const plain = await readFirstLine(process.stdin);
  if (plain === '') {
    process.stderr.write('admin-cli-password: no password on stdin\n');
    return EXIT_USAGE;
  }
  const config = exitOnConfigError(() => loadDbProxyConfig());
  const pool = createPool({ uri: config.TT_MYSQL_MASTER_URL, connectionLimit: 1 });
  try {
    const accounts = new LoginAccountStore(pool);
    const userId = await accounts.userIdByName(name);
    if (userId === undefined) {
      process.stderr.write(`admin-cli-password: refused: no active user named ${JSON.stringify(name)}\n`);
      return EXIT_REFUSED;
    }
    const hasher = new PasswordHasher(
      { memoryKiB: config.TT_ARGON2_MEMORY_KIB, timeCost: config.TT_ARGON2_TIME_COST, parallelism: config.TT_ARGON2_PARALLELISM },
      { concurrency: 1, queueMax: 1 },
    );
    // TeamTalk clients send md5hex(password); that is the secret db-proxy checks.
    const hash = await hasher.hash(createHash('md5').update(plain, 'utf8').digest('hex'));
    let salt = '';
    for (let i = 0; i < 4; i++) salt += SALT_CHARS[randomInt(SALT_CHARS.length)];
    const unusable = { password: randomBytes(16).toString('hex'), salt };
    await accounts.setPassword(userId, hash, unusable, Math.floor(Date.now() / 1000));
    process.stdout.write(`password of ${name} (user ${userId}) set (argon2id)\n`);
    return EXIT_OK;
  } finally {
    await pool.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`admin-cli-password: failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT_USAGE);
  },
);
