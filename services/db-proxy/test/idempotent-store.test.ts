// Idempotent stores (issue 10): a message stored with an idempotency key is
// stored once, whatever instance gets it again and whenever the first reply
// was lost. Real MariaDB and Redis; the lost replies are real broken links.
import type { RowDataPacket } from 'mysql2/promise';
import { tiertalk } from '@tiertalk/proto';
import { waitFor } from '@tiertalk/testkit';
import { IdempotencyPurger, IdempotencyStore } from '../src/store/idempotency';
import { openCuttableLink, CuttableLink } from './cuttable-link';
import { openOfflineFixture, OfflineFixture, storedIds } from './offline-fixture';

const { STORE_OK, STORE_FAILED } = tiertalk.StoreResult;
const TEXT = 1;

let fx: OfflineFixture;
let link: CuttableLink;

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_idempotency_test');
  link = await openCuttableLink();
});
afterAll(async () => {
  await link.close();
  await fx.close();
});

async function idemRows(fromId: number, idemKey: string): Promise<number> {
  const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMMsgIdempotency WHERE fromId = ? AND idemKey = ?', [fromId, idemKey]);
  return Number(rows[0].n);
}

async function unread(to: number, from: number): Promise<string | null> {
  return fx.redis.hget(`unread_${to}`, String(from));
}

describe('a message with an idempotency key', () => {
  it('stored again by the same instance is answered with the first id and not stored twice', async () => {
    const inst = fx.instance();
    const first = await inst.store(2001, 2002, 'hello', TEXT, 'gw1/7/1');
    expect(first).toEqual({ result: STORE_OK, msgId: 1 });
    const again = await inst.store(2001, 2002, 'hello', TEXT, 'gw1/7/1');
    expect(again).toEqual({ result: STORE_OK, msgId: 1 });
    // Another key of the same sender, and the same key of another sender, are new messages.
    expect(await inst.store(2001, 2002, 'next', TEXT, 'gw1/7/2')).toMatchObject({ result: STORE_OK });
    expect(await inst.store(2002, 2001, 'reply', TEXT, 'gw1/7/1')).toMatchObject({ result: STORE_OK });
    expect((await storedIds(fx.pool, 2001, 2002)).length).toBe(3);
    expect(await unread(2002, 2001)).toBe('2');
    expect(await idemRows(2001, 'gw1/7/1')).toBe(1);
    await inst.close();
  });

  it('twice in one batch: the second gets the first one’s answer', async () => {
    const inst = fx.instance();
    // The first store keeps the committer busy, so the next three ride in one batch.
    const [, a, b, c] = await Promise.all([
      inst.store(2101, 2102, 'busy'),
      inst.store(2101, 2102, 'one', TEXT, 'k1'),
      inst.store(2101, 2102, 'one', TEXT, 'k1'),
      inst.store(2101, 2102, 'two', TEXT, 'k2'),
    ]);
    expect(a).toEqual({ result: STORE_OK, msgId: 2 });
    expect(b).toEqual(a);
    // No id was spent on the repeat: the batch stored two messages.
    expect(c).toEqual({ result: STORE_OK, msgId: 3 });
    expect(await storedIds(fx.pool, 2101, 2102)).toEqual([1, 2, 3]);
    expect(await unread(2102, 2101)).toBe('3');
    await inst.close();
  });

  it('stored by one instance and again by another (the first reply lost): same id, one row', async () => {
    const one = fx.instance();
    const two = fx.instance();
    const first = await one.store(2201, 2202, 'hi', TEXT, 'gw-a/1/5');
    await one.close(); // the instance that stored it is gone
    const retried = await two.store(2201, 2202, 'hi', TEXT, 'gw-a/1/5');
    expect(retried).toEqual(first);
    expect(await storedIds(fx.pool, 2201, 2202)).toEqual([first.msgId]);
    expect(await unread(2202, 2201)).toBe('1');
    await two.close();
  });

  it('sent to two instances at once is stored once and both answers carry its id', async () => {
    const one = fx.instance();
    const two = fx.instance();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => [one.store(2301, 2302, `m${i}`, TEXT, `k${i}`), two.store(2301, 2302, `m${i}`, TEXT, `k${i}`)]).flat(),
    );
    expect(outcomes.every((o) => o.result === STORE_OK)).toBe(true);
    for (let i = 0; i < 20; i++) expect(outcomes[2 * i + 1].msgId).toBe(outcomes[2 * i].msgId);
    expect((await storedIds(fx.pool, 2301, 2302)).length).toBe(20);
    expect(await unread(2302, 2301)).toBe('20');
    await Promise.all([one.close(), two.close()]);
  });

  it('without a key is stored every time, as before', async () => {
    const inst = fx.instance();
    await inst.store(2401, 2402, 'same');
    await inst.store(2401, 2402, 'same');
    expect(await storedIds(fx.pool, 2401, 2402)).toEqual([1, 2]);
    await inst.close();
  });

  it('older than the window is a new message, and the purge job removes expired keys', async () => {
    const inst = fx.instance({ dedupeWindowSec: 60 });
    const first = await inst.store(2501, 2502, 'old', TEXT, 'old-key');
    await fx.pool.query('UPDATE IMMsgIdempotency SET created = created - 120 WHERE fromId = 2501');
    const later = await inst.store(2501, 2502, 'old', TEXT, 'old-key');
    expect(later.result).toBe(STORE_OK);
    expect(later.msgId).toBeGreaterThan(first.msgId);
    expect((await storedIds(fx.pool, 2501, 2502)).length).toBe(2);
    // The new store replaced the expired row; an expired row of another key is purged.
    await inst.store(2501, 2502, 'x', TEXT, 'purge-me');
    await fx.pool.query("UPDATE IMMsgIdempotency SET created = created - 120 WHERE fromId = 2501 AND idemKey = 'purge-me'");
    const errors: unknown[] = [];
    await new IdempotencyPurger(new IdempotencyStore(fx.pool), 60, 60_000, (err) => errors.push(err), 1).runOnce();
    expect(errors).toEqual([]);
    expect(await idemRows(2501, 'purge-me')).toBe(0);
    expect(await idemRows(2501, 'old-key')).toBe(1);
    await inst.close();
  });
});

describe('a commit whose connection is lost', () => {
  it('after the server committed (reply lost) is answered STORE_OK with the stored id, and a resend elsewhere gets the same id', async () => {
    link.mode = 'pass';
    const cut = fx.instance({ writerUrl: link.url(fx.dbName) });
    expect((await cut.store(2601, 2602, 'warm-up')).result).toBe(STORE_OK);
    link.mode = 'drop-commit-reply';
    const pending = cut.store(2601, 2602, 'committed, reply lost', TEXT, 'lost-reply');
    // The server has committed the row; only its reply is withheld. Now the link breaks.
    await waitFor(async () => (await storedIds(fx.pool, 2601, 2602)).length === 2, 10_000);
    link.cut();
    const outcome = await pending;
    link.mode = 'pass';
    expect(outcome).toEqual({ result: STORE_OK, msgId: 2 });
    expect(await unread(2602, 2601)).toBe('2');

    const other = fx.instance();
    expect(await other.store(2601, 2602, 'committed, reply lost', TEXT, 'lost-reply')).toEqual({ result: STORE_OK, msgId: 2 });
    expect(await storedIds(fx.pool, 2601, 2602)).toEqual([1, 2]);
    await Promise.all([cut.close(), other.close()]);
  });

  it('before the server saw it is answered STORE_FAILED, and the resend is stored once', async () => {
    link.mode = 'pass';
    const cut = fx.instance({ writerUrl: link.url(fx.dbName) });
    expect((await cut.store(2701, 2702, 'warm-up')).result).toBe(STORE_OK);
    link.mode = 'drop-requests';
    const dropped = link.droppedRequests;
    const pending = cut.store(2701, 2702, 'never arrived', TEXT, 'lost-request');
    // The transaction is swallowed by the relay, so nothing reaches MySQL; then the link breaks.
    await waitFor(() => link.droppedRequests > dropped, 10_000);
    link.cut();
    const outcome = await pending;
    link.mode = 'pass';
    expect(outcome).toMatchObject({ result: STORE_FAILED, msgId: 0 });
    expect(await storedIds(fx.pool, 2701, 2702)).toEqual([1]);
    expect(await idemRows(2701, 'lost-request')).toBe(0);

    const other = fx.instance();
    const resent = await other.store(2701, 2702, 'never arrived', TEXT, 'lost-request');
    expect(resent.result).toBe(STORE_OK);
    expect(await other.store(2701, 2702, 'never arrived', TEXT, 'lost-request')).toEqual(resent);
    expect((await storedIds(fx.pool, 2701, 2702)).length).toBe(2);
    await Promise.all([cut.close(), other.close()]);
  });
});
