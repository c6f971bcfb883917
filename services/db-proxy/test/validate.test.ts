import pino from 'pino';
import type { RowDataPacket } from 'mysql2/promise';
import { createHash } from 'node:crypto';
import { IM } from '@tiertalk/proto';
import { LoginFailures } from '../src/handlers/login/login-failures';
import { ValidateHandler, VALIDATE_BAD_CREDENTIALS, VALIDATE_OK, VALIDATE_TOO_MANY_FAILURES } from '../src/handlers/login/validate';
import { UserStore } from '../src/store/users';
import { openStoreFixture, StoreFixture } from './store-fixture';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
let fx: StoreFixture;
let handler: ValidateHandler;

const validate = (userName: string, password: string) => handler.validate(IM.Server.IMValidateReq.create({ userName, password }));

beforeAll(async () => {
  fx = await openStoreFixture('a_tt_dbproxy_validate_test');
  handler = new ValidateHandler(new UserStore(fx.pool), new LoginFailures(fx.redis, 10, 1800), pino({ level: 'silent' }));
});
afterAll(async () => {
  await fx.close();
});

describe('validate (TeamTalk password rule)', () => {
  it('accepts md5(plain) from the client when md5(sent + salt) matches the stored password', async () => {
    const rsp = await validate('alice', md5('tiertalk'));
    expect(rsp.resultCode).toBe(VALIDATE_OK);
    expect(rsp.userInfo?.userRealName).toBe('alice');
    expect(rsp.userInfo?.userNickName).toBe('Alice');
    expect(rsp.userInfo?.status).toBe(0);
  });

  it('refuses a wrong password, an unknown user and a user who left', async () => {
    expect((await validate('bob', md5('wrong'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    expect((await validate('nobody', md5('tiertalk'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    await fx.pool.query("UPDATE IMUser SET status = 3 WHERE name = 'carol'");
    expect((await validate('carol', md5('tiertalk'))).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
  });

  it('lets a user inserted by SQL, as TeamTalk admin does, log in at once', async () => {
    const salt = 'q7Zx';
    await fx.pool.query(
      "INSERT INTO IMUser (sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, created, updated) VALUES (1, 'erin', 'erin', 'Erin', ?, ?, '', '', '', 1, 0, 0, 0)",
      [md5(md5('s3cret') + salt), salt],
    );
    expect((await validate('erin', md5('s3cret'))).resultCode).toBe(VALIDATE_OK);
  });

  it("treats a name like x' OR '1'='1 as a name: refused, nothing changed", async () => {
    const [before] = await fx.pool.query<RowDataPacket[]>('SELECT id, password FROM IMUser ORDER BY id');
    for (const name of ["x' OR '1'='1", "alice' -- ", 'alice"; DROP TABLE IMUser; --', 'a'.repeat(1000)]) {
      expect((await validate(name, "' OR '1'='1")).resultCode).toBe(VALIDATE_BAD_CREDENTIALS);
    }
    const [after] = await fx.pool.query<RowDataPacket[]>('SELECT id, password FROM IMUser ORDER BY id');
    expect(after).toEqual(before);
  });

  it('locks a name after more than 10 failures, even for the right password', async () => {
    for (let i = 0; i < 11; i++) await validate('dave', md5('nope'));
    const rsp = await validate('dave', md5('tiertalk'));
    expect(rsp.resultCode).toBe(VALIDATE_TOO_MANY_FAILURES);
    // other names are unaffected
    expect((await validate('alice', md5('tiertalk'))).resultCode).toBe(VALIDATE_OK);
  });
});
