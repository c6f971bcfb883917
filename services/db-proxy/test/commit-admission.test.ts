// Admission of a commit (commit/admission.ts) against real MariaDB: which
// messages of a batch go on to be stored, and what the others are answered.
import { RefusalLog } from '@tiertalk/metrics';
import { IM, tiertalk } from '@tiertalk/proto';
import { Admission } from '../src/handlers/message/commit/admission';
import type { PendingMessage, StoreOutcome } from '../src/handlers/message/commit/types';
import { IdempotencyStore } from '../src/store/idempotency';
import { KnownUsers } from '../src/store/known-users';
import { openOfflineFixture, OfflineFixture, silentLog } from './offline-fixture';

const { STORE_OK, STORE_REJECTED } = tiertalk.StoreResult;
const TEXT = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT;
let fx: OfflineFixture;
let admission: Admission;

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_commit_admission_test');
  admission = new Admission({
    log: silentLog,
    refusals: new RefusalLog(silentLog),
    receivers: new KnownUsers(fx.pool),
    idempotency: new IdempotencyStore(fx.pool),
    dedupeWindowSec: 300,
  });
});
afterAll(async () => {
  await fx.close();
});

/** A pending message and where its answer lands. */
function pending(from: number, to: number, text: string, idemKey?: string): { p: PendingMessage; answers: StoreOutcome[] } {
  const answers: StoreOutcome[] = [];
  const p: PendingMessage = {
    ...(idemKey === undefined ? {} : { idemKey }),
    msg: { fromUserId: from, toSessionId: to, msgId: 0, createTime: 0, msgType: TEXT, msgData: Buffer.from(text, 'utf8') },
    done: (o) => answers.push(o),
  };
  return { p, answers };
}

it('admits valid messages to known receivers and refuses the rest, each with its reason', async () => {
  const { alice, bob } = fx.ids;
  const ok = pending(alice, bob, 'hello');
  const empty = pending(alice, bob, '');
  const self = pending(alice, alice, 'me');
  const stranger = pending(alice, 987654, 'anyone?');
  const tooLong = pending(alice, bob, 'x'.repeat(4097));
  const longKey = pending(alice, bob, 'key', 'k'.repeat(129));
  const admitted = await admission.admit([ok.p, empty.p, self.p, stranger.p, tooLong.p, longKey.p], 1000);
  expect(admitted.map((a) => a.p)).toEqual([ok.p]);
  expect(admitted[0].content).toEqual({ text: 'hello' });
  expect(ok.answers).toEqual([]);
  expect(empty.answers).toEqual([{ result: STORE_REJECTED, msgId: 0, reason: 'empty message', code: 'message_invalid' }]);
  expect(self.answers).toEqual([{ result: STORE_REJECTED, msgId: 0, reason: 'message to self', code: 'message_invalid' }]);
  expect(stranger.answers).toEqual([{ result: STORE_REJECTED, msgId: 0, reason: 'unknown receiver', code: 'message_unknown_receiver' }]);
  expect(tooLong.answers).toEqual([{ result: STORE_REJECTED, msgId: 0, reason: 'message longer than 4096 characters', code: 'message_invalid' }]);
  expect(longKey.answers).toEqual([{ result: STORE_REJECTED, msgId: 0, reason: 'idempotency key longer than 128 characters', code: 'message_invalid' }]);
});

it('a second item with the same sender and key in one batch follows the first and gets its answer', async () => {
  const { alice, bob, carol } = fx.ids;
  const first = pending(alice, bob, 'once', 'same-key');
  const again = pending(alice, bob, 'once', 'same-key');
  const otherSender = pending(carol, bob, 'mine', 'same-key');
  const admitted = await admission.admit([first.p, again.p, otherSender.p], 1000);
  expect(admitted.map((a) => a.p)).toEqual([first.p, otherSender.p]);
  expect(admitted[0].followers).toEqual([again.p]);
});

it('after a duplicate key, the items already stored are answered with the stored id and the rest go on', async () => {
  const { alice, bob } = fx.ids;
  const now = Math.floor(Date.now() / 1000);
  await fx.pool.query('INSERT INTO IMMsgIdempotency (fromId, idemKey, sessionType, toId, msgId, created) VALUES (?, ?, 1, ?, 41, ?)', [alice, 'stored-before', bob, now]);
  const done = pending(alice, bob, 'was stored', 'stored-before');
  const fresh = pending(alice, bob, 'new', 'fresh-key');
  const admitted = await admission.admit([done.p, fresh.p], now);
  const rest = await admission.answerAlreadyStored(admitted, now);
  expect(rest.map((a) => a.p)).toEqual([fresh.p]);
  expect(done.answers).toEqual([{ result: STORE_OK, msgId: 41 }]);
  expect(fresh.answers).toEqual([]);
});
