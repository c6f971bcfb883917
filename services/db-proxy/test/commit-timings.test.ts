// The phase and statement timings of a message commit reach /metrics (tt_store_commit_phase_seconds,
// tt_store_commit_statement_seconds), so operators see where a commit's time goes.
import { metricsRegistry } from '@tiertalk/metrics';
import { tiertalk } from '@tiertalk/proto';
import { statementLabel } from '../src/store/sql-batch';
import { openOfflineFixture, OfflineFixture } from './offline-fixture';

let fx: OfflineFixture;
beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_commit_timings_test');
});
afterAll(async () => {
  await fx.close();
});

it('labels statements by verb and table, without the shard suffix', () => {
  expect(statementLabel('INSERT INTO IMMessage_3 (relateId) VALUES (?)')).toBe('insert IMMessage');
  expect(statementLabel('INSERT INTO IMRecentSession (a) VALUES (?) ON DUPLICATE KEY UPDATE a = 1')).toBe('upsert IMRecentSession');
  expect(statementLabel('UPDATE IMGroup SET lastChated = ? WHERE id = ?')).toBe('update IMGroup');
  expect(statementLabel('START TRANSACTION')).toBe('other');
});

it('a commit counts its phases and its statements in the histograms', async () => {
  metricsRegistry.resetMetrics();
  const inst = fx.instance();
  const outcome = await inst.store(7001, 7002, 'timed', undefined, 'timed-1');
  expect(outcome.result).toBe(tiertalk.StoreResult.STORE_OK);
  const text = await metricsRegistry.metrics();
  for (const phase of ['admission', 'id_allocation', 'transaction', 'counters_apply', 'conversation_index']) {
    expect(text).toContain(`tt_store_commit_phase_seconds_count{phase="${phase}"} 1`);
  }
  for (const statement of ['begin', 'commit', 'insert IMMessage', 'insert IMMsgIdempotency', 'upsert IMRecentSession', 'upsert IMReadCursor']) {
    expect(text).toContain(`tt_store_commit_statement_seconds_count{statement="${statement}"} 1`);
  }
  await inst.close();
});
