// Offline file records through the gateway (docs/FILES.md): a sender records a
// file it uploaded for an offline receiver, the receiver finds it at login with
// the file servers' addresses, is told at once when online, and deletes it.
// Real db-proxy, route and gateways; the file-server addresses come from etcd.
import type { RowDataPacket } from 'mysql2/promise';
import type { TeamTalkClient } from '@tiertalk/client';
import { createLogger } from '@tiertalk/log';
import { CID, IM } from '@tiertalk/proto';
import { Registry, type Registration } from '@tiertalk/registry';
import { GatewayInfo, testConfig, waitFor } from '@tiertalk/testkit';
import { loggedIn } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const { TransferFileType } = IM.BaseDefine;

const suite = e2eSuite('offline-files', { dbProxy: 1, route: 1, msg: 2 });
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);
const { ids } = suite;
let registry: Registry;

async function login(gw: GatewayInfo, name: string): Promise<TeamTalkClient> {
  const c = await loggedIn(gw, name);
  suite.track(c);
  return c;
}

function hasOffline(c: TeamTalkClient): Promise<IM.File.IMFileHasOfflineRsp> {
  return c.request(
    CID.CID_FILE_HAS_OFFLINE_REQ,
    // A client may send any user_id: the gateway answers for the connection's user.
    IM.File.IMFileHasOfflineReq.encode({ userId: 999999 }).finish(),
    CID.CID_FILE_HAS_OFFLINE_RES,
    (b) => IM.File.IMFileHasOfflineRsp.decode(b),
  );
}

function addOffline(c: TeamTalkClient, to: number, taskId: string, fileName: string, fileSize: number): void {
  c.sendFrame(CID.CID_FILE_ADD_OFFLINE_REQ, 0, IM.File.IMFileAddOfflineReq.encode({ fromUserId: 0, toUserId: to, taskId, fileName, fileSize }).finish());
}

function delOffline(c: TeamTalkClient, from: number, to: number, taskId: string): void {
  c.sendFrame(CID.CID_FILE_DEL_OFFLINE_REQ, 0, IM.File.IMFileDelOfflineReq.encode({ fromUserId: from, toUserId: to, taskId }).finish());
}

function nextFileNotify(c: TeamTalkClient, timeoutMs = 5000): Promise<IM.File.IMFileNotify> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.off('pdu', onPdu);
      reject(new Error(`no IMFileNotify within ${timeoutMs} ms`));
    }, timeoutMs);
    const onPdu = (p: { commandId: number; body: Uint8Array }): void => {
      if (p.commandId !== CID.CID_FILE_NOTIFY) return;
      clearTimeout(timer);
      c.off('pdu', onPdu);
      resolve(IM.File.IMFileNotify.decode(p.body));
    };
    c.on('pdu', onPdu);
  });
}

async function records(toId: number): Promise<RowDataPacket[]> {
  const [rows] = await suite.pool.query<RowDataPacket[]>('SELECT fromId, toId, fileName, size, taskId, status, created FROM IMTransmitFile WHERE toId = ? ORDER BY id', [toId]);
  return rows;
}

beforeAll(async () => {
  registry = await Registry.connect({ endpoints: [...testConfig.etcdEndpoints], prefix: suite.cluster.prefix, leaseTtlSec: 5, logger: createLogger({ service: 'test', instanceId: 'offline-files-test', level: 'silent' }) });
});

afterAll(async () => {
  await registry?.close();
});

describe('offline files', () => {
  it('no records: an empty list, and no file server addresses while none runs', async () => {
    const bob = await login(gw1(), 'bob');
    const rsp = await hasOffline(bob);
    expect(rsp.userId).toBe(ids.bob);
    expect(rsp.offlineFileList).toEqual([]);
    expect(rsp.ipAddrList).toEqual([]);
    expect(rsp.attachData.length).toBe(0);
  });

  it('alice records a file for offline bob; bob logs in on another gateway and finds it with the file servers', async () => {
    let file: Registration | undefined;
    try {
      file = await registry.register({ id: 'file-1', service: 'file', addr: '127.0.0.1:1', load: 0, meta: { ip: '10.1.2.3', port: 8600 } });
      const alice = await login(gw1(), 'alice');
      addOffline(alice, ids.bob, 'task-offline-1', 'report 报告.pdf', 123_456);
      await waitFor(async () => (await records(ids.bob)).length === 1, 5000, { what: 'the IMTransmitFile row' });
      const [row] = await records(ids.bob);
      expect(row).toMatchObject({ fromId: ids.alice, toId: ids.bob, fileName: 'report 报告.pdf', size: 123_456, taskId: 'task-offline-1', status: 0 });
      expect(Number(row.created)).toBeGreaterThan(0);

      // the gateway learns file servers from etcd
      const bob = await login(gw2(), 'bob');
      await waitFor(async () => (await hasOffline(bob)).ipAddrList.length === 1, 5000, { what: 'the file server address' });
      const rsp = await hasOffline(bob);
      expect(rsp.offlineFileList).toEqual([{ fromUserId: ids.alice, taskId: 'task-offline-1', fileName: 'report 报告.pdf', fileSize: 123_456 }]);
      expect(rsp.ipAddrList).toEqual([{ ip: '10.1.2.3', port: 8600 }]);

      // a client retrying the same record does not list it twice
      addOffline(alice, ids.bob, 'task-offline-1', 'report 报告.pdf', 123_456);
      addOffline(alice, ids.bob, 'task-offline-2', 'b.txt', 3);
      await waitFor(async () => (await records(ids.bob)).length === 2, 5000, { what: 'the second row' });
      expect((await hasOffline(bob)).offlineFileList.map((f) => f.taskId)).toEqual(['task-offline-1', 'task-offline-2']);
    } finally {
      await file?.deregister();
    }
  });

  it('an online receiver is told at once (IMFileNotify, offline_ready 1) on every gateway', async () => {
    const bobPc = await login(gw2(), 'bob');
    const alice = await login(gw1(), 'alice');
    const notified = nextFileNotify(bobPc);
    addOffline(alice, ids.bob, 'task-offline-3', 'photo.png', 42);
    const n = await notified;
    expect(n).toMatchObject({ fromUserId: ids.alice, toUserId: ids.bob, fileName: 'photo.png', fileSize: 42, taskId: 'task-offline-3', transMode: TransferFileType.FILE_TYPE_OFFLINE, offlineReady: 1 });
  });

  it('only the sender or the receiver deletes a record; the receiver deletes after downloading', async () => {
    const carol = await login(gw1(), 'carol');
    const bob = await login(gw2(), 'bob');
    const before = (await hasOffline(bob)).offlineFileList.map((f) => f.taskId);
    expect(before).toContain('task-offline-1');
    // carol is neither party: refused at once, before her next request is read
    delOffline(carol, ids.alice, ids.bob, 'task-offline-1');
    await hasOffline(carol);
    expect((await hasOffline(bob)).offlineFileList.map((f) => f.taskId)).toEqual(before);

    delOffline(bob, ids.alice, ids.bob, 'task-offline-1');
    await waitFor(async () => !(await records(ids.bob)).some((r) => r.taskId === 'task-offline-1'), 5000, { what: 'the deleted row gone' });
    expect((await hasOffline(bob)).offlineFileList.map((f) => f.taskId)).toEqual(before.filter((t) => t !== 'task-offline-1'));
  });

  it('a record with a bad receiver or name is refused, nothing stored', async () => {
    const alice = await login(gw1(), 'alice');
    const bob = await login(gw2(), 'bob');
    const count = (await records(ids.bob)).length;
    addOffline(alice, ids.alice, 'task-self', 'x', 1); // to oneself: refused by the gateway
    addOffline(alice, ids.bob, 'task-noname', '', 1); // no name: refused by db-proxy
    addOffline(alice, ids.bob, 'x'.repeat(129), 'long.txt', 1); // task id longer than the column
    addOffline(alice, ids.bob, 'task-marker', 'marker.txt', 1);
    await waitFor(async () => (await records(ids.bob)).some((r) => r.taskId === 'task-marker'), 5000, { what: 'the marker row' });
    const after = await records(ids.bob);
    expect(after.length).toBe(count + 1);
    expect((await records(ids.alice)).length).toBe(0);
    expect((await hasOffline(bob)).offlineFileList.map((f) => f.taskId)).toContain('task-marker');
  });
});
