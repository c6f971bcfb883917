// runOffline against two fake gateways sharing an in-memory message store (a
// test double of the server side speaking the real framing: login, messages,
// unread, history, latest id, read ack), with knobs to lose, duplicate or
// leave un-ACKed some messages and to cap history pages.
import net from 'node:net';
import { FrameReader, encodeFrame } from '@tiertalk/pdu';
import { CID, IM, serviceIdOf } from '@tiertalk/proto';
import { runOffline, type OfflineResult } from './offline';
import { parseOptions, type PressureOptions } from './options';

interface Knobs {
  /** Every n-th message is ACKed but not stored. */
  loseEvery?: number;
  /** Every n-th message is stored twice under one id. */
  dupEvery?: number;
  /** Every n-th message is stored but not ACKed. */
  noAckEvery?: number;
  /** History pages hold at most this many messages, whatever was asked. */
  pageCap?: number;
}

class FakeStore {
  readonly servers: net.Server[] = [];
  readonly sockets = new Set<net.Socket>();
  private readonly ids = new Map<string, number>();
  private readonly history = new Map<string, IM.BaseDefine.MsgInfo.$Properties[]>();
  private readonly lastId = new Map<string, number>();
  private readonly unread = new Map<number, Map<number, number>>();
  counters = { received: 0, lost: 0, duplicated: 0, unacked: 0, listRequests: 0 };

  constructor(private readonly knobs: Knobs) {}

  async start(count: number): Promise<number[]> {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const server = net.createServer((s) => this.accept(s));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new Error('no port');
      this.servers.push(server);
      ports.push(addr.port);
    }
    return ports;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  }

  private pair(a: number, b: number): string {
    return `${Math.min(a, b)}:${Math.max(a, b)}`;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new FrameReader();
    let me = 0;
    const send = (cid: number, seq: number, body: Uint8Array): void => {
      socket.write(encodeFrame(serviceIdOf(cid), cid, seq, body));
    };
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        switch (f.commandId) {
          case CID.CID_LOGIN_REQ_USERLOGIN: {
            const name = IM.Login.IMLoginReq.decode(f.body).userName;
            me = this.ids.get(name) ?? this.ids.size + 100;
            this.ids.set(name, me);
            const info = { userId: me, userGender: 0, userNickName: name, avatarUrl: '', departmentId: 1, email: '', userRealName: name, userTel: '', userDomain: '', status: 0 };
            send(CID.CID_LOGIN_RES_USERLOGIN, f.seqNum, IM.Login.IMLoginRes.encode({ serverTime: 0, resultCode: 0, userInfo: info }).finish());
            break;
          }
          case CID.CID_MSG_DATA: {
            const n = ++this.counters.received;
            const msg = IM.Message.IMMsgData.decode(f.body);
            const key = this.pair(me, msg.toSessionId);
            const msgId = (this.lastId.get(key) ?? 0) + 1;
            this.lastId.set(key, msgId);
            const row = { msgId, fromSessionId: me, createTime: 1, msgType: msg.msgType, msgData: msg.msgData };
            const rows = this.history.get(key) ?? [];
            this.history.set(key, rows);
            if (this.knobs.loseEvery && n % this.knobs.loseEvery === 0) this.counters.lost += 1;
            else {
              rows.push(row);
              const counts = this.unread.get(msg.toSessionId) ?? new Map<number, number>();
              this.unread.set(msg.toSessionId, counts);
              counts.set(me, (counts.get(me) ?? 0) + 1);
              if (this.knobs.dupEvery && n % this.knobs.dupEvery === 0) {
                this.counters.duplicated += 1;
                rows.push(row);
              }
            }
            if (this.knobs.noAckEvery && n % this.knobs.noAckEvery === 0) this.counters.unacked += 1;
            else send(CID.CID_MSG_DATA_ACK, f.seqNum, IM.Message.IMMsgDataAck.encode({ userId: me, sessionId: msg.toSessionId, msgId, sessionType: 1 }).finish());
            break;
          }
          case CID.CID_MSG_UNREAD_CNT_REQUEST: {
            const list = [...(this.unread.get(me) ?? new Map<number, number>())].map(([peer, cnt]) => ({
              sessionId: peer,
              sessionType: 1,
              unreadCnt: cnt,
              latestMsgId: this.lastId.get(this.pair(me, peer)) ?? 0,
              latestMsgData: new Uint8Array(0),
              latestMsgType: 1,
              latestMsgFromUserId: peer,
            }));
            send(CID.CID_MSG_UNREAD_CNT_RESPONSE, f.seqNum, IM.Message.IMUnreadMsgCntRsp.encode({ userId: me, totalCnt: list.reduce((a, u) => a + u.unreadCnt, 0), unreadinfoList: list }).finish());
            break;
          }
          case CID.CID_MSG_GET_LATEST_MSG_ID_REQ: {
            const req = IM.Message.IMGetLatestMsgIdReq.decode(f.body);
            const latestMsgId = this.lastId.get(this.pair(me, req.sessionId)) ?? 0;
            send(CID.CID_MSG_GET_LATEST_MSG_ID_RSP, f.seqNum, IM.Message.IMGetLatestMsgIdRsp.encode({ userId: me, sessionType: 1, sessionId: req.sessionId, latestMsgId }).finish());
            break;
          }
          case CID.CID_MSG_LIST_REQUEST: {
            this.counters.listRequests += 1;
            const req = IM.Message.IMGetMsgListReq.decode(f.body);
            const limit = Math.min(req.msgCnt, this.knobs.pageCap ?? Infinity);
            const msgList = (this.history.get(this.pair(me, req.sessionId)) ?? [])
              .filter((m) => req.msgIdBegin === 0 || m.msgId <= req.msgIdBegin)
              .sort((a, b) => b.msgId - a.msgId)
              .slice(0, limit);
            send(CID.CID_MSG_LIST_RESPONSE, f.seqNum, IM.Message.IMGetMsgListRsp.encode({ userId: me, sessionType: 1, sessionId: req.sessionId, msgIdBegin: req.msgIdBegin, msgList }).finish());
            break;
          }
          case CID.CID_MSG_READ_ACK: {
            const req = IM.Message.IMMsgDataReadAck.decode(f.body);
            this.unread.get(me)?.delete(req.sessionId);
            break;
          }
          case CID.CID_LOGIN_REQ_LOGINOUT:
            send(CID.CID_LOGIN_RES_LOGINOUT, f.seqNum, IM.Login.IMLogoutRsp.encode({ resultCode: 0 }).finish());
            socket.end();
            break;
          case CID.CID_OTHER_HEARTBEAT:
            send(f.commandId, f.seqNum, f.body);
            break;
          default:
            break;
        }
      }
    });
  }

  unreadOf(name: string): number {
    const id = this.ids.get(name);
    return [...(this.unread.get(id ?? -1)?.values() ?? [])].reduce((a, b) => a + b, 0);
  }
}

function options(argv: string[]): PressureOptions {
  const o = parseOptions(argv);
  if ('help' in o) throw new Error('help');
  return o;
}

async function offline(fake: FakeStore, ports: number[], extra: string[]): Promise<{ result: OfflineResult; lines: string[] }> {
  const lines: string[] = [];
  const opts = options(['--mode', 'offline', '--gateways', ports.map((p) => `127.0.0.1:${p}`).join(','), '--users-prefix', 'off', ...extra]);
  const result = await runOffline({
    opts,
    endpoints: { kind: 'gateways', gateways: opts.gateways ?? [] },
    out: (l) => lines.push(l),
    warn: (l) => lines.push(`WARN ${l}`),
    stop: new AbortController().signal,
    hurry: new AbortController().signal,
  });
  return { result, lines };
}

describe('runOffline', () => {
  let fake: FakeStore;
  let ports: number[];
  afterEach(async () => {
    await fake.stop();
  });

  it('stores while the receivers are offline, then pulls every message exactly once', async () => {
    fake = new FakeStore({});
    ports = await fake.start(2);
    const { result, lines } = await offline(fake, ports, ['--pairs', '3', '--messages', '25', '--page', '10', '--window', '4']);
    const s = result.summary;
    expect(s).toMatchObject({ senders: 3, sent: 75, acked: 75, failed: 0, pulled: 75, lost: 0, duplicated: 0, misrouted: 0, idsReused: 0, idGaps: 0, unreadChecked: 3, unreadShort: 0, pullFailures: 0 });
    // 25 messages in pages of 10: 10, 10, 5, and the last one reaches msg id 1.
    expect(s.pages).toBe(9);
    expect(s.pullMs.count).toBe(3);
    expect(s.storeSec).toBeGreaterThan(0);
    expect(result.pullErrors).toEqual([]);
    expect(lines.some((l) => /^stored 75\/75 messages in /.test(l))).toBe(true);
    // The pull leaves the sessions read.
    await new Promise((r) => setTimeout(r, 100));
    for (const r of ['off0002', 'off0004', 'off0006']) expect(fake.unreadOf(r)).toBe(0);
    expect(result.scenario).toMatch(/^3 senders each send 25 messages/);

    // A second run on the same users ignores the history of the first.
    const again = await offline(fake, ports, ['--pairs', '3', '--messages', '5', '--page', '10']);
    expect(again.result.summary).toMatchObject({ acked: 15, pulled: 15, lost: 0, misrouted: 0, idGaps: 0 });
    expect(again.result.summary.pages).toBe(3);
  });

  it('finds lost, duplicated and stored-but-unACKed messages', async () => {
    fake = new FakeStore({ loseEvery: 7, dupEvery: 11, noAckEvery: 13 });
    ports = await fake.start(2);
    // 60 messages: no message is hit by two knobs (7 × 11, 7 × 13, 11 × 13 > 60); pages hold a whole session.
    const { result } = await offline(fake, ports, ['--pairs', '2', '--messages', '30', '--page', '40', '--ack-timeout', '300']);
    const s = result.summary;
    expect(fake.counters.lost).toBeGreaterThan(0);
    expect(s.sent).toBe(60);
    expect(s.failed).toBe(fake.counters.unacked);
    expect(s.failedByCode).toEqual({ ACK_TIMEOUT: fake.counters.unacked });
    expect(s.lost).toBe(fake.counters.lost);
    expect(s.duplicated).toBe(fake.counters.duplicated);
    expect(s.pulledUnacked).toBe(fake.counters.unacked);
    // Ids taken by unACKed messages are the only gaps among the ACKed ones.
    expect(s.idGaps).toBeLessThanOrEqual(s.failed);
    expect(s).toMatchObject({ misrouted: 0, idsReused: 0, pullFailures: 0 });
  });

  it('pages through a server that returns fewer messages than asked', async () => {
    fake = new FakeStore({ pageCap: 4 });
    ports = await fake.start(2);
    const { result } = await offline(fake, ports, ['--pairs', '2', '--messages', '30', '--page', '40']);
    expect(result.summary).toMatchObject({ acked: 60, pulled: 60, lost: 0, duplicated: 0, pages: 2 * Math.ceil(30 / 4) });
  });
});
