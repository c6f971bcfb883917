// File transfer the TeamTalk way (docs/FILES.md), real processes: a file server in the
// cluster, gateways asking it for tasks over gRPC, TeamTalk clients on both ends.
// Offline: alice uploads for offline bob, bob logs in later, finds it and downloads it.
// Online: both connected, the file server relays chunks between them.
// Refusals: a file over the size limit, an abandoned task cleaned up after the timeout.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { TeamTalkClient } from '@tiertalk/client';
import * as grpc from '@grpc/grpc-js';
import { CID, FileServerService, IM } from '@tiertalk/proto';
import { createClient, errorCode, mutualTls, unaryCall } from '@tiertalk/rpc';
import { GatewayInfo, testPki, waitFor } from '@tiertalk/testkit';
import { FileClient } from './file-client';
import { loggedIn } from './helpers';
import { e2eSuite } from './suite';
import { parseExposition, sumOf } from './prometheus-text';

jest.setTimeout(60_000);

const { ClientFileRole, ClientFileState, TransferFileType } = IM.BaseDefine;
const MAX_FILE_BYTES = 300_000;
const TASK_TIMEOUT_MS = 2000;

const suite = e2eSuite('file-transfer', {
    dbProxy: 1,
    route: 1,
    msg: 2,
    msfs: true,
    file: true,
    serviceEnv: { file: { TT_FILE_MAX_FILE_BYTES: String(MAX_FILE_BYTES), TT_FILE_TASK_TIMEOUT_MS: String(TASK_TIMEOUT_MS) } },
  });
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);
const { ids } = suite;
const clients: TeamTalkClient[] = [];
const fileClients: FileClient[] = [];

async function login(gw: GatewayInfo, name: string): Promise<TeamTalkClient> {
  const c = await loggedIn(gw, name);
  clients.push(c);
  return c;
}

async function fileClient(port: number): Promise<FileClient> {
  const c = await FileClient.connect(port);
  fileClients.push(c);
  return c;
}

function fileBytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 197 + seed * 31 + (i >> 8)) % 256;
  return b;
}

function requestFile(c: TeamTalkClient, to: number, fileName: string, fileSize: number, transMode: IM.BaseDefine.TransferFileType): Promise<IM.File.IMFileRsp> {
  return c.request(
    CID.CID_FILE_REQUEST,
    IM.File.IMFileReq.encode({ fromUserId: 0, toUserId: to, fileName, fileSize, transMode }).finish(),
    CID.CID_FILE_RESPONSE,
    (b) => IM.File.IMFileRsp.decode(b),
  );
}

function hasOffline(c: TeamTalkClient): Promise<IM.File.IMFileHasOfflineRsp> {
  return c.request(CID.CID_FILE_HAS_OFFLINE_REQ, IM.File.IMFileHasOfflineReq.encode({ userId: 0 }).finish(), CID.CID_FILE_HAS_OFFLINE_RES, (b) =>
    IM.File.IMFileHasOfflineRsp.decode(b),
  );
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

async function fileMetric(name: string, labels: Record<string, string>): Promise<number> {
  const port = suite.cluster.instanceInfo().find((i) => i.service === 'file')?.metricsPort;
  return sumOf(parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()), name, labels);
}

/** Files the file server has stored for a task (bytes and description), in the storage shared with msfs. */
function storedFor(taskId: string): string[] {
  const dir = path.join(suite.cluster.storagePath, 'offline', taskId.slice(0, 2));
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(taskId)) : [];
}

suite.afterEachTest(async () => {
  for (const f of fileClients.splice(0)) f.close();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('the FileServer gRPC service (mutual TLS)', () => {
  const grpcOf = (): string => `127.0.0.1:${suite.cluster.instanceInfo().find((i) => i.service === 'file')?.grpcPort}`;
  const as = (name: string): grpc.Client => {
    const { cert, key } = testPki().certFor(name);
    return createClient(grpcOf(), mutualTls({ ca: testPki().caCert, cert, key }, { pollIntervalMs: 0 }), 'file');
  };

  it('answers a gateway with where clients reach it (IMFileServerIPRsp), and refuses other tiers', async () => {
    const gateway = as('msg');
    const rsp = await unaryCall(gateway, FileServerService.ServerIp, IM.Server.IMFileServerIPReq.create({}), { deadlineMs: 5000 });
    expect(rsp.ipAddrList).toEqual([{ ip: '127.0.0.1', port: suite.cluster.filePort }]);
    gateway.close();
    const login = as('login');
    const refused = await unaryCall(login, FileServerService.Transfer, IM.Server.IMFileTransferReq.create({ fromUserId: 1, toUserId: 2, fileName: 'x', fileSize: 1, transMode: 2 }), { deadlineMs: 5000 }).then(
      () => grpc.status.OK,
      (err: unknown) => errorCode(err),
    );
    expect(refused).toBe(grpc.status.PERMISSION_DENIED);
    login.close();
  });
});

describe('offline file', () => {
  it('alice uploads for offline bob; bob logs in later on another gateway, finds it, downloads the same bytes', async () => {
    const data = fileBytes(200_000, 1); // not a whole number of 32 KiB segments
    const alice = await login(gw1(), 'alice');
    const rsp = await requestFile(alice, ids.bob, 'holiday.mov', data.length, TransferFileType.FILE_TYPE_OFFLINE);
    expect(rsp).toMatchObject({ resultCode: 0, fromUserId: ids.alice, toUserId: ids.bob, fileName: 'holiday.mov', transMode: TransferFileType.FILE_TYPE_OFFLINE });
    expect(rsp.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(rsp.ipAddrList).toEqual([{ ip: '127.0.0.1', port: suite.cluster.filePort }]);

    const up = await fileClient(rsp.ipAddrList[0].port);
    const done = await up.upload(ids.alice, rsp.taskId, data);
    expect(done).toMatchObject({ state: ClientFileState.CLIENT_FILE_DONE, taskId: rsp.taskId, userId: ids.alice });
    await up.closed; // the server closes the uploader's connection once stored
    expect(storedFor(rsp.taskId).sort()).toEqual([rsp.taskId, `${rsp.taskId}.json`]);
    alice.sendFrame(CID.CID_FILE_ADD_OFFLINE_REQ, 0, IM.File.IMFileAddOfflineReq.encode({ fromUserId: 0, toUserId: ids.bob, taskId: rsp.taskId, fileName: 'holiday.mov', fileSize: data.length }).finish());

    const bob = await login(gw2(), 'bob');
    let list = await hasOffline(bob);
    await waitFor(async () => (list = await hasOffline(bob)).offlineFileList.some((f) => f.taskId === rsp.taskId), 5000, { what: 'the offline record' });
    expect(list.offlineFileList.find((f) => f.taskId === rsp.taskId)).toEqual({ fromUserId: ids.alice, taskId: rsp.taskId, fileName: 'holiday.mov', fileSize: data.length });
    expect(list.ipAddrList).toEqual([{ ip: '127.0.0.1', port: suite.cluster.filePort }]);

    const down = await fileClient(list.ipAddrList[0].port);
    const got = await down.download(ids.bob, rsp.taskId, data.length);
    expect(got.equals(data)).toBe(true);
    bob.sendFrame(CID.CID_FILE_DEL_OFFLINE_REQ, 0, IM.File.IMFileDelOfflineReq.encode({ fromUserId: ids.alice, toUserId: ids.bob, taskId: rsp.taskId }).finish());
    await waitFor(async () => !(await hasOffline(bob)).offlineFileList.some((f) => f.taskId === rsp.taskId), 5000, { what: 'the record deleted' });
    expect(await fileMetric('tt_file_bytes_total', { direction: 'uploaded' })).toBeGreaterThanOrEqual(data.length);
  });

  it('only the receiver downloads, only with the right role; an unknown task id is refused', async () => {
    const data = fileBytes(5000, 2);
    const alice = await login(gw1(), 'alice');
    const rsp = await requestFile(alice, ids.bob, 'secret.txt', data.length, TransferFileType.FILE_TYPE_OFFLINE);
    const up = await fileClient(suite.cluster.filePort);
    await up.upload(ids.alice, rsp.taskId, data);

    const carol = await fileClient(suite.cluster.filePort);
    expect((await carol.login(ids.carol, rsp.taskId, ClientFileRole.CLIENT_OFFLINE_DOWNLOAD)).resultCode).toBe(1);
    await carol.closed;
    const again = await fileClient(suite.cluster.filePort);
    expect((await again.login(ids.alice, rsp.taskId, ClientFileRole.CLIENT_OFFLINE_UPLOAD)).resultCode).toBe(1);
    const unknown = await fileClient(suite.cluster.filePort);
    expect((await unknown.login(ids.bob, '00000000-0000-4000-8000-000000000000', ClientFileRole.CLIENT_OFFLINE_DOWNLOAD)).resultCode).toBe(1);
    const bob = await fileClient(suite.cluster.filePort);
    expect((await bob.download(ids.bob, rsp.taskId, data.length, 1000)).equals(data)).toBe(true);
  });
});

describe('online file', () => {
  it('both connected: bob is offered the file, the file server relays alice\'s chunks to bob, DONE reaches alice', async () => {
    const data = fileBytes(150_000, 3);
    const bobIm = await login(gw2(), 'bob');
    const alice = await login(gw1(), 'alice');
    const offered = nextFileNotify(bobIm);
    const rsp = await requestFile(alice, ids.bob, 'slides.pdf', data.length, TransferFileType.FILE_TYPE_ONLINE);
    expect(rsp).toMatchObject({ resultCode: 0, transMode: TransferFileType.FILE_TYPE_ONLINE });
    const notify = await offered;
    expect(notify).toMatchObject({ fromUserId: ids.alice, toUserId: ids.bob, fileName: 'slides.pdf', fileSize: data.length, taskId: rsp.taskId, transMode: TransferFileType.FILE_TYPE_ONLINE, offlineReady: 0 });
    expect(notify.ipAddrList).toEqual(rsp.ipAddrList);

    const sender = await fileClient(rsp.ipAddrList[0].port);
    expect((await sender.login(ids.alice, rsp.taskId, ClientFileRole.CLIENT_REALTIME_SENDER)).resultCode).toBe(0);
    const receiver = await fileClient(notify.ipAddrList[0].port);
    expect((await receiver.login(ids.bob, rsp.taskId, ClientFileRole.CLIENT_REALTIME_RECVER)).resultCode).toBe(0);
    const ready = await receiver.next(CID.CID_FILE_STATE, (b) => IM.File.IMFileState.decode(b));
    expect(ready).toMatchObject({ state: ClientFileState.CLIENT_FILE_PEER_READY, taskId: rsp.taskId, userId: ids.alice });

    const parts: Buffer[] = [];
    for (let offset = 0; offset < data.length; ) {
      const dataSize = Math.min(40_000, data.length - offset);
      receiver.send(CID.CID_FILE_PULL_DATA_REQ, IM.File.IMFilePullDataReq.encode({ taskId: rsp.taskId, userId: ids.bob, transMode: TransferFileType.FILE_TYPE_ONLINE, offset, dataSize }).finish());
      // the sender sees the receiver's pull and answers it with the slice
      const pull = await sender.next(CID.CID_FILE_PULL_DATA_REQ, (b) => IM.File.IMFilePullDataReq.decode(b));
      expect(pull).toMatchObject({ offset, dataSize, userId: ids.bob });
      sender.send(CID.CID_FILE_PULL_DATA_RSP, IM.File.IMFilePullDataRsp.encode({ resultCode: 0, taskId: rsp.taskId, userId: ids.alice, offset, fileData: data.subarray(offset, offset + dataSize) }).finish());
      const chunk = await receiver.next(CID.CID_FILE_PULL_DATA_RSP, (b) => IM.File.IMFilePullDataRsp.decode(b));
      expect(chunk.offset).toBe(offset);
      parts.push(Buffer.from(chunk.fileData));
      offset += chunk.fileData.length;
    }
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    receiver.send(CID.CID_FILE_STATE, IM.File.IMFileState.encode({ state: ClientFileState.CLIENT_FILE_DONE, taskId: rsp.taskId, userId: ids.bob }).finish());
    expect(await sender.next(CID.CID_FILE_STATE, (b) => IM.File.IMFileState.decode(b))).toMatchObject({ state: ClientFileState.CLIENT_FILE_DONE, userId: ids.bob });
    await Promise.all([sender.closed, receiver.closed]);
    expect(storedFor(rsp.taskId)).toEqual([]); // relayed, never stored
    expect(await fileMetric('tt_file_bytes_total', { direction: 'relayed' })).toBeGreaterThanOrEqual(data.length);
  });
});

describe('online file, misbehaving sender', () => {
  it('data nobody pulled ends the task: both connections closed, nothing relayed', async () => {
    await login(gw2(), 'bob');
    const alice = await login(gw1(), 'alice');
    const rsp = await requestFile(alice, ids.bob, 'push.bin', 1000, TransferFileType.FILE_TYPE_ONLINE);
    const sender = await fileClient(suite.cluster.filePort);
    expect((await sender.login(ids.alice, rsp.taskId, ClientFileRole.CLIENT_REALTIME_SENDER)).resultCode).toBe(0);
    const receiver = await fileClient(suite.cluster.filePort);
    expect((await receiver.login(ids.bob, rsp.taskId, ClientFileRole.CLIENT_REALTIME_RECVER)).resultCode).toBe(0);
    await receiver.next(CID.CID_FILE_STATE, (b) => IM.File.IMFileState.decode(b));
    sender.send(CID.CID_FILE_PULL_DATA_RSP, IM.File.IMFilePullDataRsp.encode({ resultCode: 0, taskId: rsp.taskId, userId: ids.alice, offset: 0, fileData: Buffer.alloc(500) }).finish());
    await Promise.all([sender.closed, receiver.closed]);
    await expect(receiver.next(CID.CID_FILE_PULL_DATA_RSP, (b) => b, 100)).rejects.toThrow('closed the connection');
  });
});

describe('online request to an offline receiver', () => {
  it('becomes an offline transfer (as TeamTalk does): IMFileRsp says FILE_TYPE_OFFLINE, the sender uploads', async () => {
    const alice = await login(gw1(), 'alice');
    const rsp = await requestFile(alice, ids.carol, 'later.txt', 3000, TransferFileType.FILE_TYPE_ONLINE);
    expect(rsp).toMatchObject({ resultCode: 0, transMode: TransferFileType.FILE_TYPE_OFFLINE });
    const up = await fileClient(suite.cluster.filePort);
    expect((await up.upload(ids.alice, rsp.taskId, fileBytes(3000, 5))).state).toBe(ClientFileState.CLIENT_FILE_DONE);
  });
});

describe('limits', () => {
  it('a file over TT_FILE_MAX_FILE_BYTES is refused (IMFileRsp result 1) and counted', async () => {
    const before = await fileMetric('tt_file_transfer_refused_total', { reason: 'too_large' });
    const alice = await login(gw1(), 'alice');
    const rsp = await requestFile(alice, ids.bob, 'huge.iso', MAX_FILE_BYTES + 1, TransferFileType.FILE_TYPE_OFFLINE);
    expect(rsp).toMatchObject({ resultCode: 1, taskId: '', fileName: 'huge.iso' });
    expect(rsp.ipAddrList).toEqual([]);
    expect(await fileMetric('tt_file_transfer_refused_total', { reason: 'too_large' })).toBe(before + 1);
    // exactly the limit is fine; the sender then cancels it (the task ends at once, not by the timeout)
    const ok = await requestFile(alice, ids.bob, 'big.iso', MAX_FILE_BYTES, TransferFileType.FILE_TYPE_OFFLINE);
    expect(ok.resultCode).toBe(0);
    const cancelledBefore = await fileMetric('tt_file_tasks_ended_total', { mode: 'offline', outcome: 'cancelled' });
    const up = await fileClient(suite.cluster.filePort);
    expect((await up.login(ids.alice, ok.taskId, ClientFileRole.CLIENT_OFFLINE_UPLOAD)).resultCode).toBe(0);
    up.send(CID.CID_FILE_STATE, IM.File.IMFileState.encode({ state: ClientFileState.CLIENT_FILE_CANCEL, taskId: ok.taskId, userId: ids.alice }).finish());
    await up.closed;
    expect(await fileMetric('tt_file_tasks_ended_total', { mode: 'offline', outcome: 'cancelled' })).toBe(cancelledBefore + 1);
    expect(storedFor(ok.taskId)).toEqual([]);
  });

  it('an uploader sending more than it declared is cut off and nothing is kept', async () => {
    const alice = await login(gw1(), 'alice');
    const rsp = await requestFile(alice, ids.bob, 'small.txt', 1000, TransferFileType.FILE_TYPE_OFFLINE);
    const up = await fileClient(suite.cluster.filePort);
    expect((await up.login(ids.alice, rsp.taskId, ClientFileRole.CLIENT_OFFLINE_UPLOAD)).resultCode).toBe(0);
    const pull = await up.next(CID.CID_FILE_PULL_DATA_REQ, (b) => IM.File.IMFilePullDataReq.decode(b));
    expect(pull).toMatchObject({ offset: 0, dataSize: 1000 });
    up.send(CID.CID_FILE_PULL_DATA_RSP, IM.File.IMFilePullDataRsp.encode({ resultCode: 0, taskId: rsp.taskId, userId: ids.alice, offset: 0, fileData: Buffer.alloc(5000) }).finish());
    await up.closed;
    expect(storedFor(rsp.taskId)).toEqual([]);
  });

  it('an abandoned task is dropped after TT_FILE_TASK_TIMEOUT_MS: its connection closed, a partial upload discarded, the task id dead', async () => {
    const before = await fileMetric('tt_file_tasks_ended_total', { mode: 'offline', outcome: 'abandoned' });
    const alice = await login(gw1(), 'alice');
    const rsp = await requestFile(alice, ids.bob, 'half.bin', 100_000, TransferFileType.FILE_TYPE_OFFLINE);
    const up = await fileClient(suite.cluster.filePort);
    expect((await up.login(ids.alice, rsp.taskId, ClientFileRole.CLIENT_OFFLINE_UPLOAD)).resultCode).toBe(0);
    await up.next(CID.CID_FILE_PULL_DATA_REQ, (b) => IM.File.IMFilePullDataReq.decode(b));
    up.send(CID.CID_FILE_PULL_DATA_RSP, IM.File.IMFilePullDataRsp.encode({ resultCode: 0, taskId: rsp.taskId, userId: ids.alice, offset: 0, fileData: fileBytes(32768, 4) }).finish());
    await up.next(CID.CID_FILE_PULL_DATA_REQ, (b) => IM.File.IMFilePullDataReq.decode(b)); // the second segment is asked for, never sent
    const started = Date.now();
    await up.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(TASK_TIMEOUT_MS - 600);
    expect(await fileMetric('tt_file_tasks_ended_total', { mode: 'offline', outcome: 'abandoned' })).toBe(before + 1);
    expect(storedFor(rsp.taskId)).toEqual([]);
    const late = await fileClient(suite.cluster.filePort);
    expect((await late.login(ids.alice, rsp.taskId, ClientFileRole.CLIENT_OFFLINE_UPLOAD)).resultCode).toBe(1);
  });

  it('an online task whose receiver never comes is dropped too, unless its sender is still there (heartbeats)', async () => {
    const before = await fileMetric('tt_file_tasks_ended_total', { mode: 'online', outcome: 'abandoned' });
    await login(gw2(), 'carol'); // online, offered the files, joins one late
    const alice = await login(gw1(), 'alice');
    const silentTask = await requestFile(alice, ids.carol, 'nobody.txt', 10, TransferFileType.FILE_TYPE_ONLINE);
    const waitingTask = await requestFile(alice, ids.carol, 'later.txt', 10, TransferFileType.FILE_TYPE_ONLINE);
    expect([silentTask.transMode, waitingTask.transMode]).toEqual([TransferFileType.FILE_TYPE_ONLINE, TransferFileType.FILE_TYPE_ONLINE]);
    const silent = await fileClient(suite.cluster.filePort);
    expect((await silent.login(ids.alice, silentTask.taskId, ClientFileRole.CLIENT_REALTIME_SENDER)).resultCode).toBe(0);
    const waiting = await fileClient(suite.cluster.filePort);
    expect((await waiting.login(ids.alice, waitingTask.taskId, ClientFileRole.CLIENT_REALTIME_SENDER)).resultCode).toBe(0);
    // The waiting sender's client heartbeats, as TeamTalk clients do on every connection.
    const beat = setInterval(() => waiting.send(CID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat.encode({}).finish()), TASK_TIMEOUT_MS / 4);
    try {
      await silent.closed;
      expect(await fileMetric('tt_file_tasks_ended_total', { mode: 'online', outcome: 'abandoned' })).toBe(before + 1);
      expect(waiting.isClosed).toBe(false);
      // carol accepts the waiting one late: it is still there
      const receiver = await fileClient(suite.cluster.filePort);
      expect((await receiver.login(ids.carol, waitingTask.taskId, ClientFileRole.CLIENT_REALTIME_RECVER)).resultCode).toBe(0);
      expect((await receiver.next(CID.CID_FILE_STATE, (b) => IM.File.IMFileState.decode(b))).state).toBe(ClientFileState.CLIENT_FILE_PEER_READY);
      const late = await fileClient(suite.cluster.filePort);
      expect((await late.login(ids.carol, silentTask.taskId, ClientFileRole.CLIENT_REALTIME_RECVER)).resultCode).toBe(1);
    } finally {
      clearInterval(beat);
    }
  });
});
