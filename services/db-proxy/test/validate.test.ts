// Login validation against real MariaDB and Redis: TeamTalk's md5 passwords
// upgraded to argon2id, resets through IMUser, constant cost, and the lockout
// counted per (name, IP) and per IP before the password check.
import pino from 'pino';
import type { RowDataPacket } from 'mysql2/promise';
import { createHash } from 'node:crypto';
import { RefusalLog, refusalCount } from '@tiertalk/metrics';
import { waitFor } from '@tiertalk/testkit';
import { IM } from '@tiertalk/proto';
import { LoginLimits } from '../src/handlers/login/login-limits';
import { PasswordHasher } from '../src/handlers/login/password-hasher';
import { PasswordVerifier } from '../src/handlers/login/password-verifier';
import { ValidateHandler, VALIDATE_BAD_CREDENTIALS, VALIDATE_INTERNAL_ERROR, VALIDATE_OK, VALIDATE_TOO_MANY_FAILURES } from '../src/handlers/login/validate';
import { VerifiedSecrets } from '../src/handlers/login/verified-secrets';
import { LoginAccountStore } from '../src/store/login-accounts';
import { openStoreFixture, StoreFixture } from './store-fixture';
import { testValidateOptions } from './validate-fixture';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const silent = pino({ level: 'silent' });
let fx: StoreFixture;

/** A hasher that counts its argon2 operations (the real one underneath). */
class CountingHasher extends PasswordHasher {
  verifies = 0;
  hashes = 0;
  override verify(stored: string, secret: string): Promise<boolean> {
    this.verifies += 1;
    return super.verify(stored, secret);
  }
  override hash(secret: string): Promise<string> {
    this.hashes += 1;
    return super.hash(secret);
  }
}

function makeHandler(limits: Parameters<typeof testValidateOptions>[0] = {}, hasherOpts: { concurrency?: number; queueMax?: number } = {}) {
  const opts = testValidateOptions(limits);
  const accounts = new LoginAccountStore(fx.pool);
  const hasher = new CountingHasher(opts.argon2, { concurrency: hasherOpts.concurrency ?? 2, queueMax: hasherOpts.queueMax ?? 2000 });
  const verifier = new PasswordVerifier(hasher, new VerifiedSecrets({ max: 1000, ttlMs: 600_000 }), accounts, silent);
  const handler = new ValidateHandler(accounts, verifier, new LoginLimits(fx.redis, opts.limits), new RefusalLog(silent));
  // The argon2id upgrade follows the answer; waiting for it keeps each step's effects visible to the next.
  const validate = async (userName: string, password: string, clientIp = '203.0.113.1') => {
    const rsp = await handler.validate(IM.Server.IMValidateReq.create({ userName, password, clientIp }));
    await verifier.upgradesSettled();
    return rsp;
  };
  return { handler, hasher, validate };
}

interface HashRow extends RowDataPacket {
  hash: string;
  legacyPassword: string;
  legacySalt: string;
}
async function hashRow(name: string): Promise<HashRow | undefined> {
  const [rows] = await fx.pool.query<HashRow[]>(
    'SELECT h.hash, h.legacyPassword, h.legacySalt FROM IMUserPasswordHash h JOIN IMUser u ON u.id = h.userId WHERE u.name = ?',
    [name],
  );
  return rows[0];
}

async function addUser(name: string, plain: string): Promise<void> {
  const salt = 'q7Zx';
  await fx.pool.query(
    "INSERT INTO IMUser (sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, created, updated) VALUES (1, ?, ?, ?, ?, ?, '', '', '', 1, 0, 0, 0)",
    [name, name, name, md5(md5(plain) + salt), salt],
  );
}

beforeAll(async () => {
  fx = await openStoreFixture('a_tt_dbproxy_validate_test');
});
afterAll(async () => {
  await fx.close();
});
beforeEach(async () => {
  await fx.redis.flushdb();
});

describe('passwords', () => {
  it("accepts TeamTalk's md5(md5(password) + salt) and rehashes it to argon2id after that login", async () => {
    const { validate } = makeHandler();
    expect(await hashRow('alice')).toBeUndefined();
    const rsp = await validate('alice', md5('tiertalk'));
    expect(rsp.resultCode).toBe(VALIDATE_OK);
    expect(rsp.userInfo?.userRealName).toBe('alice');
    expect(rsp.userInfo?.userNickName).toBe('Alice');
    expect(rsp.userInfo?.status).toBe(0);
    const row = await hashRow('alice');
    expect(row?.hash).toMatch(/^\$argon2id\$v=19\$m=4096,t=2,p=1\$/);
    const [[user]] = await fx.pool.query<RowDataPacket[]>("SELECT password, salt FROM IMUser WHERE name = 'alice'");
    expect([row?.legacyPassword, row?.legacySalt]).toEqual([user.password, user.salt]);
  });

  it('checks the argon2id hash once there is one (a fresh process, nothing remembered)', async () => {
    await makeHandler().validate('bob', md5('tiertalk'));
    // Only the argon2id row knows this password: proves it is the one checked.
    const { hasher, validate } = makeHandler();
    await fx.pool.query('UPDATE IMUserPasswordHash h JOIN IMUser u ON u.id = h.userId SET h.hash = ? WHERE u.name = ?', [await hasher.hash(md5('argon-only')), 'bob']);
    expect((await validate('bob', md5('argon-only'))).resultCode).toBe(VALIDATE_OK);
    expect((await validate('bob', md5('tiertalk'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
  });

  it('lets a TeamTalk admin reset a password by writing IMUser.password: the newer one wins, even in a warm cache', async () => {
    const { validate } = makeHandler();
    expect((await validate('carol', md5('tiertalk'))).resultCode).toBe(VALIDATE_OK);
    expect((await validate('carol', md5('tiertalk'))).resultCode).toBe(VALIDATE_OK);
    await fx.pool.query("UPDATE IMUser SET password = ?, salt = 'Ab12' WHERE name = 'carol'", [md5(md5('reset') + 'Ab12')]);
    expect((await validate('carol', md5('tiertalk'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    expect((await validate('carol', md5('reset'))).resultCode).toBe(VALIDATE_OK);
    // ...and the reset password is argon2id from then on.
    expect((await hashRow('carol'))?.legacySalt).toBe('Ab12');
  });

  it('the admin path sets argon2id directly; the old password stops working everywhere', async () => {
    await addUser('frank', 'old-pass');
    const accounts = new LoginAccountStore(fx.pool);
    const { hasher, validate } = makeHandler();
    const id = await accounts.userIdByName('frank');
    expect(await accounts.setPassword(id!, await hasher.hash(md5('new-pass')), { password: 'f'.repeat(32), salt: 'zzzz' }, 1)).toBe(true);
    expect((await validate('frank', md5('new-pass'))).resultCode).toBe(VALIDATE_OK);
    expect((await validate('frank', md5('old-pass'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
  });

  it('remembers a checked login, so a reconnecting client costs no argon2 work; a wrong one never passes', async () => {
    const { hasher, validate } = makeHandler();
    await validate('dave', md5('tiertalk'));
    const before = { verifies: hasher.verifies, hashes: hasher.hashes };
    for (let i = 0; i < 5; i++) expect((await validate('dave', md5('tiertalk'))).resultCode).toBe(VALIDATE_OK);
    // The upgrade on the first login remembered the new hash's outcome already.
    expect(hasher.verifies - before.verifies).toBe(0);
    expect(hasher.hashes).toBe(before.hashes);
    // A client retrying a stale saved password: hashed once, then answered from memory.
    for (let i = 0; i < 3; i++) expect((await validate('dave', md5('stale'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    expect(hasher.verifies - before.verifies).toBe(1);
  });

  it('refuses a wrong password, an unknown user and a user who left; each costs one argon2 operation', async () => {
    await addUser('gina', 'pw');
    await makeHandler().validate('gina', md5('pw'));
    const { hasher, validate } = makeHandler();
    expect((await validate('gina', md5('wrong'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    expect((await validate('nobody', md5('pw'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    await addUser('hank', 'pw');
    expect((await validate('hank', md5('wrong'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS); // md5 only, never upgraded
    await fx.pool.query("UPDATE IMUser SET status = 3 WHERE name = 'gina'");
    expect((await validate('gina', md5('pw'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    // Four refusals, four argon2 verifies (dummy hash for the unknown, left and md5-only users): the time does not tell them apart.
    expect(hasher.verifies).toBe(4);
  });

  it('an unknown user takes as long as a known user with a wrong password', async () => {
    await addUser('ivan', 'pw');
    const { validate } = makeHandler();
    await validate('ivan', md5('pw'));
    const timeOf = async (f: (i: number) => Promise<unknown>): Promise<number> => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < 12; i++) await f(i);
      return Number(process.hrtime.bigint() - t);
    };
    await timeOf((i) => validate(`warm${i}`, md5(`w${i}`), `198.51.100.${i + 1}`));
    // Distinct guesses, so nothing is answered from memory; a fresh IP each, so no limit interferes.
    const known = await timeOf((i) => validate('ivan', md5(`guess${i}`), `198.51.100.${i + 20}`));
    const unknown = await timeOf((i) => validate(`ghost${i}`, md5(`guess${i}`), `198.51.100.${i + 40}`));
    expect(unknown / known).toBeGreaterThan(0.5);
    expect(unknown / known).toBeLessThan(2);
  });

  it("treats a name like x' OR '1'='1 as a name: refused, nothing changed", async () => {
    const { validate } = makeHandler();
    const [before] = await fx.pool.query<RowDataPacket[]>('SELECT id, password FROM IMUser ORDER BY id');
    for (const name of ["x' OR '1'='1", "alice' -- ", 'alice"; DROP TABLE IMUser; --']) {
      expect((await validate(name, "' OR '1'='1")).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    }
    const [after] = await fx.pool.query<RowDataPacket[]>('SELECT id, password FROM IMUser ORDER BY id');
    expect(after).toEqual(before);
  });

  it('answers "server busy" instead of queueing hash work without bound', async () => {
    const { validate } = makeHandler({}, { concurrency: 1, queueMax: 1 });
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => validate(`busy${i}`, md5(`x${i}`), `192.0.2.${i + 1}`)));
    const codes = answers.map((a) => a.resultCode);
    expect(codes).toContain(VALIDATE_INTERNAL_ERROR);
    expect(answers.find((a) => a.resultCode === VALIDATE_INTERNAL_ERROR)?.resultString).toMatch(/busy/);
    expect(await refusalCount('login_hash_busy')).toBeGreaterThan(0);
  });
});

describe('account lookups', () => {
  it('the logins of one turn share one MySQL query, and each gets its own account as MariaDB compares names', async () => {
    await addUser('pia', 'pw');
    await addUser('quin', 'pw');
    let queries = 0;
    // The real pool, counting the statements it is given.
    const counted = new Proxy(fx.pool, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if ((prop === 'query' || prop === 'execute') && typeof v === 'function') {
          return (...args: unknown[]) => {
            queries += 1;
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return v;
      },
    });
    const accounts = new LoginAccountStore(counted);
    const names = ['pia', 'quin', 'PIA', 'nobody-here', 'quin', "x' OR '1'='1"];
    const rows = await Promise.all(names.map((n) => accounts.findActiveByName(n)));
    expect(queries).toBe(1);
    // What a query of its own finds for each name (whatever IMUser.name's collation says of 'PIA').
    const alone = [];
    for (const n of names) {
      const [found] = await fx.pool.execute<RowDataPacket[]>('SELECT name FROM IMUser WHERE name = ? AND status = 0 ORDER BY id DESC LIMIT 1', [n]);
      alone.push(found[0]?.name as string | undefined);
    }
    expect(rows.map((r) => r?.name)).toEqual(alone);
    expect(alone.slice(0, 2)).toEqual(['pia', 'quin']);
    expect(rows[3]).toBeUndefined();
    expect(rows[5]).toBeUndefined();
    expect(rows[0]?.argon2Hash).toBeNull();
  });
});

describe('lockout and limits', () => {
  it('of 50 parallel wrong guesses from one address only the limit (10) reach the password check', async () => {
    await addUser('judy', 'pw');
    const { hasher, validate } = makeHandler();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => validate('judy', md5(`guess${i}`), '203.0.113.50')));
    expect(answers.filter((a) => a.resultCode === VALIDATE_BAD_CREDENTIALS)).toHaveLength(10);
    expect(answers.filter((a) => a.resultCode === VALIDATE_TOO_MANY_FAILURES)).toHaveLength(40);
    expect(hasher.verifies).toBe(10);
    // The right password from that address is refused too, with a clear reason...
    const locked = await validate('judy', md5('pw'), '203.0.113.50');
    expect(locked.resultCode).toBe(VALIDATE_TOO_MANY_FAILURES);
    expect(locked.resultString).toMatch(/too many failed logins for this user from your address; try again in \d+ min/);
    expect(await refusalCount('login_locked_user_ip')).toBeGreaterThan(0);
  });

  it("a stranger's 50 failures from other addresses never lock the real user out", async () => {
    await addUser('kate', 'pw');
    const { validate } = makeHandler();
    for (let i = 0; i < 50; i++) await validate('kate', md5(`guess${i}`), `198.18.${Math.floor(i / 10)}.${i + 1}`);
    expect((await validate('kate', md5('pw'), '192.0.2.200')).resultCode).toBe(VALIDATE_OK);
  });

  it('a right password forgives the failures of that (name, address)', async () => {
    await addUser('liam', 'pw');
    const { validate } = makeHandler();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 9; i++) expect((await validate('liam', md5(`g${round}${i}`))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
      expect((await validate('liam', md5('pw'))).resultCode).toBe(VALIDATE_OK);
    }
  });

  it("'alice   ' is alice: same account and the same failure counter", async () => {
    await addUser('mia', 'pw');
    const { validate } = makeHandler();
    expect((await validate('mia   ', md5('pw'))).resultCode).toBe(VALIDATE_OK);
    for (let i = 0; i < 5; i++) await validate('mia ', md5(`g${i}`));
    for (let i = 0; i < 5; i++) await validate('mia      ', md5(`h${i}`));
    expect((await validate('mia', md5('pw'))).resultCode).toBe(VALIDATE_TOO_MANY_FAILURES);
  });

  it('a 10 kB name is refused before it reaches Redis or MySQL', async () => {
    const { hasher, validate } = makeHandler();
    const huge = 'n'.repeat(10_240);
    const rsp = await validate(huge, md5('x'));
    expect(rsp.resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    const keys = await fx.redis.keys('*');
    expect(keys.some((k) => k.includes('nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn'))).toBe(false);
    expect(keys.some((k) => k.length > 200)).toBe(false);
    expect(hasher.verifies).toBe(0);
    const [[stat]] = await fx.pool.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE '%nnnnnnnnnnnnnnnnnnnnnnnn%' AND INFO NOT LIKE '%PROCESSLIST%'",
    );
    expect(Number(stat.n)).toBe(0);
    expect(await refusalCount('login_bad_name')).toBeGreaterThan(0);
  });

  it('counts failures per address over all names', async () => {
    const { validate } = makeHandler({ ipFailLimit: 20 });
    for (let i = 0; i < 20; i++) expect((await validate(`spray${i}`, md5('x'), '203.0.113.77')).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    const rsp = await validate('alice', md5('tiertalk'), '203.0.113.77');
    expect(rsp.resultCode).toBe(VALIDATE_TOO_MANY_FAILURES);
    expect(rsp.resultString).toMatch(/failed logins from your address/);
    expect((await validate('alice', md5('tiertalk'), '203.0.113.78')).resultCode).toBe(VALIDATE_OK);
  });

  it('limits the login rate per address; an IPv6 /64 is one address', async () => {
    const { validate } = makeHandler({ ipRateLimit: 5, ipRateWindowSec: 60 });
    for (let i = 0; i < 5; i++) expect((await validate('alice', md5('tiertalk'), `2001:db8:1:2::${i + 1}`)).resultCode).toBe(VALIDATE_OK);
    const rsp = await validate('alice', md5('tiertalk'), '2001:db8:1:2:ffff::9');
    expect(rsp.resultCode).toBe(VALIDATE_TOO_MANY_FAILURES);
    expect(rsp.resultString).toMatch(/too many login attempts from your address/);
    expect(await refusalCount('login_rate_ip')).toBeGreaterThan(0);
    expect((await validate('alice', md5('tiertalk'), '2001:db8:1:3::1')).resultCode).toBe(VALIDATE_OK);
  });

  it('costs two Redis commands per login: one script before the password check, one after a right password', async () => {
    await addUser('omar', 'pw');
    const { validate } = makeHandler();
    // Loads both scripts into Redis, so the logins below run them by hash.
    await validate('omar', md5('pw'));
    const monitor = await fx.redis.monitor();
    const commands: string[] = [];
    // Commands a script runs arrive with source "lua"; only the client's own count.
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') commands.push(String(args[0]).toLowerCase());
    });
    try {
      expect((await validate('omar', md5('pw'))).resultCode).toBe(VALIDATE_OK);
      expect((await validate('omar', md5('wrong'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
      // A marker proves every command of the two logins was seen.
      await fx.redis.ping('done');
      await waitFor(() => commands.includes('ping'), 5000);
    } finally {
      monitor.disconnect();
    }
    expect(commands.filter((c) => c !== 'ping')).toEqual(['evalsha', 'evalsha', 'evalsha']);
  });

  it('shares the counters between instances (two handlers, one Redis)', async () => {
    await addUser('nina', 'pw');
    const a = makeHandler();
    const b = makeHandler();
    for (let i = 0; i < 5; i++) await a.validate('nina', md5(`g${i}`));
    for (let i = 0; i < 5; i++) await b.validate('nina', md5(`h${i}`));
    expect((await a.validate('nina', md5('pw'))).resultCode).toBe(VALIDATE_TOO_MANY_FAILURES);
  });
});
