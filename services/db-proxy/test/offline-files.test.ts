// db-proxy's offline file records (docs/FILES.md) in TeamTalk's IMTransmitFile, against real MariaDB.
import type { RowDataPacket } from 'mysql2/promise';
import { IM } from '@tiertalk/proto';
import { OFFLINE_FILES_LIST_MAX, OfflineFileHandlers } from '../src/handlers/file/offline-files';
import { TransmitFileStore } from '../src/store/transmit-files';
import { RequestError } from '../src/unary';
import { DirectoryFixture, openDirectoryFixture, silentLog } from './directory-fixture';

let fx: DirectoryFixture;
let files: OfflineFileHandlers;

const add = (from: number, to: number, taskId: string, fileName = 'f.txt', fileSize = 1) =>
  files.addOffline(IM.File.IMFileAddOfflineReq.create({ fromUserId: from, toUserId: to, taskId, fileName, fileSize }));
const list = async (userId: number) => (await files.hasOffline(IM.File.IMFileHasOfflineReq.create({ userId }))).offlineFileList.map((f) => f.taskId);

beforeAll(async () => {
  fx = await openDirectoryFixture('a_tt_dbproxy_offline_files_test_b');
  files = new OfflineFileHandlers(new TransmitFileStore(fx.pool), silentLog);
});
beforeEach(async () => {
  await fx.pool.query('DELETE FROM IMTransmitFile');
});
afterAll(async () => {
  await fx?.close();
});

describe('offline file records', () => {
  it('records in TeamTalk\'s columns, lists the receiver\'s waiting files oldest first, ignores a repeated add', async () => {
    const { alice, bob, carol } = fx.ids;
    await add(alice, bob, 't1', '报告 (final).pdf', 123);
    await add(carol, bob, 't2');
    await add(alice, bob, 't1', '报告 (final).pdf', 123);
    await add(bob, alice, 't3');
    const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT fromId, toId, fileName, size, taskId, status FROM IMTransmitFile WHERE toId = ? ORDER BY id', [bob]);
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { fromId: alice, toId: bob, fileName: '报告 (final).pdf', size: 123, taskId: 't1', status: 0 },
      { fromId: carol, toId: bob, fileName: 'f.txt', size: 1, taskId: 't2', status: 0 },
    ]);
    const rsp = await files.hasOffline(IM.File.IMFileHasOfflineReq.create({ userId: bob }));
    expect(rsp.userId).toBe(bob);
    expect(rsp.offlineFileList).toEqual([
      { fromUserId: alice, taskId: 't1', fileName: '报告 (final).pdf', fileSize: 123 },
      { fromUserId: carol, taskId: 't2', fileName: 'f.txt', fileSize: 1 },
    ]);
    expect(await list(alice)).toEqual(['t3']);
  });

  it('deletes by sender, receiver and task id only', async () => {
    const { alice, bob, carol } = fx.ids;
    await add(alice, bob, 't1');
    await add(carol, bob, 't1');
    await files.delOffline(IM.File.IMFileDelOfflineReq.create({ fromUserId: alice, toUserId: bob, taskId: 't1' }));
    expect(await list(bob)).toEqual(['t1']);
    expect((await files.hasOffline(IM.File.IMFileHasOfflineReq.create({ userId: bob }))).offlineFileList[0].fromUserId).toBe(carol);
  });

  it('caps a long list', async () => {
    const { alice, bob } = fx.ids;
    const values = Array.from({ length: OFFLINE_FILES_LIST_MAX + 5 }, (_, i) => [alice, bob, 'x', 1, `t${i}`, 0, i, i]);
    await fx.pool.query('INSERT INTO IMTransmitFile (fromId, toId, fileName, size, taskId, status, created, updated) VALUES ?', [values]);
    const got = await list(bob);
    expect(got.length).toBe(OFFLINE_FILES_LIST_MAX);
    expect(got[0]).toBe('t0');
  });

  it('refuses bad records with INVALID_ARGUMENT and stores nothing', async () => {
    const { alice, bob } = fx.ids;
    for (const bad of [
      () => add(alice, alice, 't'),
      () => add(0, bob, 't'),
      () => add(alice, bob, ''),
      () => add(alice, bob, 'x'.repeat(129)),
      () => add(alice, bob, 't', ''),
      () => add(alice, bob, 't', 'n'.repeat(256)),
      () => files.hasOffline(IM.File.IMFileHasOfflineReq.create({ userId: 0 })),
    ]) {
      await expect(bad()).rejects.toBeInstanceOf(RequestError);
    }
    expect(await list(bob)).toEqual([]);
  });
});
