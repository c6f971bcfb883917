// A 1:1 message to a user id that is not in IMUser is refused before any row
// is written (issue 11 part 4); a user created a moment later is accepted at
// once (unknown ids are not remembered). Real MariaDB and Redis.
import type { RowDataPacket } from 'mysql2/promise';
import { refusalCount } from '@tiertalk/metrics';
import { tiertalk } from '@tiertalk/proto';
import { openOfflineFixture, OfflineFixture, storedIds } from './offline-fixture';

const { STORE_OK, STORE_REJECTED } = tiertalk.StoreResult;
let fx: OfflineFixture;

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_receiver_check_test');
});
afterAll(async () => {
  await fx.close();
});

async function rowsAbout(userId: number): Promise<number> {
  const [rows] = await fx.pool.query<RowDataPacket[]>(
    `SELECT (SELECT COUNT(*) FROM IMRelationShip WHERE smallId = ? OR bigId = ?)
          + (SELECT COUNT(*) FROM IMRecentSession WHERE userId = ? OR peerId = ?)
          + (SELECT COUNT(*) FROM IMReadCursor WHERE userId = ? OR peerId = ?) AS n`,
    [userId, userId, userId, userId, userId, userId],
  );
  return Number(rows[0].n);
}

it('refuses an unknown receiver without writing anything, and accepts it once the user exists', async () => {
  const inst = fx.instance({ checkReceivers: true });
  const ghost = 424_242;
  const before = await refusalCount('message_unknown_receiver');
  const refused = await inst.store(fx.ids.alice, ghost, 'hello?');
  expect(refused).toMatchObject({ result: STORE_REJECTED, msgId: 0, reason: 'unknown receiver' });
  expect(await refusalCount('message_unknown_receiver')).toBe(before + 1);
  expect(await rowsAbout(ghost)).toBe(0);
  expect(await fx.redis.hgetall(`unread_${ghost}`)).toEqual({});

  // A known receiver in the same commit is stored.
  const [ok, alsoRefused] = await Promise.all([inst.store(fx.ids.alice, fx.ids.bob, 'hi bob'), inst.store(fx.ids.alice, ghost, 'again')]);
  expect(ok.result).toBe(STORE_OK);
  expect(alsoRefused.result).toBe(STORE_REJECTED);

  await fx.pool.query(
    "INSERT INTO IMUser (id, sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, created, updated, push_shield_status, sign_info) VALUES (?, 1, 'ghost', 'ghost', 'Ghost', 'x', 'salt', '', '', '', 1, 0, 1, 1, 0, '')",
    [ghost],
  );
  expect((await inst.store(fx.ids.alice, ghost, 'now you exist')).result).toBe(STORE_OK);
  expect(await storedIds(fx.pool, fx.ids.alice, ghost)).toEqual([1]);
  await inst.close();
});
