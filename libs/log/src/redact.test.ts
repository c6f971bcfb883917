import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { claimRedisDbs } from '@tiertalk/testkit';
import { createLogger } from './index';

const MYSQL_URL = 'mysql://root@127.0.0.1:3306';
const BODY = 'body-7f3a-never-in-logs';
const PASSWORD = 'pw-91c2-never-in-logs';

function capture(): { log: ReturnType<typeof createLogger>; text: () => string; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const log = createLogger({ service: 's', instanceId: 'i', level: 'debug', destination: stream });
  const text = (): string => chunks.join('');
  return { log, text, lines: () => text().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A real mysql2 error for a statement carrying BODY, the way db-proxy's stores fail. */
async function mysqlError(sql: string): Promise<Error> {
  const conn = await createConnection(MYSQL_URL);
  try {
    await conn.query(sql, [BODY, PASSWORD]);
  } catch (err) {
    return err as Error;
  } finally {
    await conn.end();
  }
  throw new Error('expected the statement to fail');
}

describe('log redaction', () => {
  it("drops mysql2's err.sql and err.values but keeps what an operator needs", async () => {
    const err = await mysqlError('INSERT INTO tt_no_such_db.IMMessage_0 (content, password) VALUES (?, ?)');
    expect(JSON.stringify({ sql: (err as { sql?: string }).sql })).toContain(BODY); // the leak being fixed
    const { log, text, lines } = capture();
    log.error({ err, messages: 3 }, 'storing a message batch failed');
    log.error(err);
    expect(text()).not.toContain(BODY);
    expect(text()).not.toContain(PASSWORD);
    expect(lines()[0]).toMatchObject({ messages: 3, err: { code: 'ER_NO_SUCH_TABLE', errno: 1146, sqlState: '42S02' } });
    expect(String((lines()[0].err as Record<string, unknown>).message)).toContain("Table 'tt_no_such_db.IMMessage_0' doesn't exist");
    expect(lines()[0].err).not.toHaveProperty('sql');
  });

  it("removes statement pieces MySQL quotes in its messages (syntax errors), also from stack, causes and strings", async () => {
    const err = await mysqlError('SELECT * FROM WHERE content = ? AND password = ?');
    expect(err.message).toContain(BODY);
    const wrapped = new Error('commit failed', { cause: err });
    const { log, text } = capture();
    log.warn({ err: wrapped }, 'wrapped');
    log.warn({ err: err.message }, 'as a string');
    log.warn({ error: err }, 'under error');
    expect(text()).toContain("near '…' at line 1");
    expect(text()).not.toContain(BODY);
    expect(text()).not.toContain(PASSWORD);
  });

  it("drops ioredis's err.command (its arguments carry keys and values)", async () => {
    const redisDb = await claimRedisDbs(1);
    const redis = new Redis(redisDb.urls[0], { lazyConnect: true, maxRetriesPerRequest: 1 });
    let err: unknown;
    try {
      await redis.connect();
      await redis.hset('tt-log-test', 'f', BODY);
      await redis.call('HINCRBY', 'tt-log-test', 'f', BODY);
    } catch (e) {
      err = e;
    } finally {
      redis.disconnect();
      await redisDb.release();
    }
    expect(JSON.stringify((err as { command?: unknown }).command)).toContain(BODY);
    const { log, text } = capture();
    log.warn({ err }, 'redis failed');
    expect(text()).toContain('ERR');
    expect(text()).not.toContain(BODY);
  });

  it('censors secret fields and message bodies wherever the code logs them', () => {
    const { log, text, lines } = capture();
    log.info({ password: PASSWORD, token: 'tok-1', user: { password: PASSWORD, name: 'alice' }, msg: { msgData: BODY, content: BODY }, headers: { authorization: 'Bearer x' } }, 'fields');
    log.child({ aesKey: 'k' }).info({ deviceToken: 'tok-2' }, 'child');
    expect(text()).not.toMatch(new RegExp(`${PASSWORD}|${BODY}|tok-1|tok-2|Bearer x|"k"`));
    expect(lines()[0]).toMatchObject({ password: '[redacted]', user: { name: 'alice', password: '[redacted]' } });
  });
});
