import { CID, IM } from '@tiertalk/proto';
import { encodeFrame } from '@tiertalk/pdu';
import type { Frame } from '@tiertalk/pdu';
import { createLogger } from '@tiertalk/log';
import { RefusalLog, refusalCount } from '@tiertalk/metrics';
import { loadMsgConfig } from './config';
import { Connection } from './conn/connection';
import { ConnectionRegistry } from './conn/connection-registry';
import type { Transport, TransportSink } from './conn/transport';
import { Dispatcher, on } from './dispatcher';
import type { HandlerTable } from './dispatcher';
import type { GatewayContext } from './gateway-context';
import { groupHandlers } from './handlers/group';
import { loginHandlers } from './handlers/login';
import { messageHandlers } from './handlers/message';
import { otherHandlers } from './handlers/other';

/** In-memory transport: what the connection writes, and a way to feed it bytes. */
class MemoryTransport implements Transport {
  readonly kind = 'tcp';
  readonly remoteAddress = 'memory';
  readonly written: Buffer[] = [];
  sink: TransportSink | undefined;
  ended = false;
  attach(sink: TransportSink): void {
    this.sink = sink;
  }
  write(chunk: Buffer): boolean {
    this.written.push(chunk);
    return true;
  }
  get bufferedBytes(): number {
    return 0;
  }
  pause(): void {}
  resume(): void {}
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.ended = true;
  }
  feed(pdu: Buffer): void {
    this.sink?.onData(pdu);
  }
}

interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

function setup(tables: readonly HandlerTable[]) {
  const lines: LogLine[] = [];
  const log = createLogger({
    service: 'msg-test',
    instanceId: 'test',
    level: 'debug',
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  const config = loadMsgConfig({ TT_INSTANCE_ID: 'gw-test' });
  const connections = new ConnectionRegistry(log);
  const unused = (): never => {
    throw new Error('not used in this test');
  };
  const ctx: GatewayContext = {
    gatewayId: 'gw-test',
    config,
    log,
    connections,
    db: { hasInstance: () => false, validate: unused, store: unused, call: unused },
    route: { hasInstance: () => false, login: unused, logout: unused, deliver: unused, call: unused },
    fileServers: { addresses: () => [], transfer: async () => undefined },
    load: { changed: () => undefined },
    refusals: new RefusalLog(log),
    lifecycle: { stopping: false },
  };
  const dispatcher = new Dispatcher(ctx, tables);
  const transport = new MemoryTransport();
  const conn = new Connection(transport, config.conn, { onFrame: (c, f) => dispatcher.dispatch(c, f), onClose: (c) => connections.remove(c) }, log);
  connections.add(conn);
  const login = (userId: number): void => {
    conn.beginLogin(IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS, IM.BaseDefine.UserStatType.USER_STATUS_ONLINE);
    connections.bindUser(conn, userId);
    connections.markOpen(conn);
  };
  return { ctx, conn, transport, lines, login };
}

const conns: Connection[] = [];
afterEach(() => {
  for (const c of conns.splice(0)) c.close('test end', 'destroy');
});

function msgData(from: number, to: number, text: string): Uint8Array {
  return IM.Message.IMMsgData.encode({ fromUserId: from, toSessionId: to, msgId: 0, createTime: 0, msgType: 1, msgData: Buffer.from(text) }).finish();
}

describe('Dispatcher', () => {
  it('refuses duplicate handlers at start-up', () => {
    const t: HandlerTable = { [CID.CID_MSG_DATA]: on(IM.Message.IMMsgData.decode, () => undefined) };
    expect(() => setup([t, t])).toThrow(/duplicate handler for CID_MSG_DATA/);
  });

  it('merges the real domain tables without clashes', () => {
    const { ctx, conn } = setup([]);
    conns.push(conn);
    const d = new Dispatcher(ctx, [loginHandlers, otherHandlers, messageHandlers, groupHandlers]);
    expect(d.commandIds.sort()).toEqual(
      [
        CID.CID_LOGIN_REQ_USERLOGIN,
        CID.CID_LOGIN_REQ_LOGINOUT,
        CID.CID_LOGIN_REQ_KICKPCCLIENT,
        CID.CID_OTHER_HEARTBEAT,
        CID.CID_SWITCH_P2P_CMD,
        CID.CID_MSG_DATA,
        CID.CID_MSG_DATA_ACK,
        CID.CID_MSG_TIME_REQUEST,
        CID.CID_MSG_READ_ACK,
        CID.CID_MSG_UNREAD_CNT_REQUEST,
        CID.CID_MSG_LIST_REQUEST,
        CID.CID_MSG_GET_BY_MSG_ID_REQ,
        CID.CID_MSG_GET_LATEST_MSG_ID_REQ,
        CID.CID_GROUP_NORMAL_LIST_REQUEST,
        CID.CID_GROUP_INFO_REQUEST,
        CID.CID_GROUP_CREATE_REQUEST,
        CID.CID_GROUP_CHANGE_MEMBER_REQUEST,
        CID.CID_GROUP_SHIELD_GROUP_REQUEST,
        CID.CID_GROUP_QUIT_REQUEST,
        CID.CID_GROUP_DISMISS_REQUEST,
        CID.CID_GROUP_KICK_REQUEST,
        CID.CID_GROUP_SET_ADMIN_REQUEST,
        CID.CID_GROUP_MUTE_REQUEST,
      ].sort(),
    );
  });

  it('before login processes only heartbeat and login; everything else is counted and ignored, logged once', async () => {
    const before = await refusalCount('command_before_login');
    const seen: number[] = [];
    const table: HandlerTable = {
      [CID.CID_OTHER_HEARTBEAT]: on(IM.Other.IMHeartBeat.decode, (_c, _k, _m, f: Frame) => void seen.push(f.commandId)),
      [CID.CID_MSG_DATA]: on(IM.Message.IMMsgData.decode, (_c, _k, _m, f: Frame) => void seen.push(f.commandId)),
      [CID.CID_MSG_TIME_REQUEST]: on(IM.Message.IMClientTimeReq.decode, (_c, _k, _m, f: Frame) => void seen.push(f.commandId)),
    };
    const { conn, transport, lines, login } = setup([table]);
    conns.push(conn);
    transport.feed(encodeFrame(3, CID.CID_MSG_DATA, 1, msgData(5, 6, 'x')));
    transport.feed(encodeFrame(3, CID.CID_MSG_TIME_REQUEST, 2, Buffer.alloc(0)));
    transport.feed(encodeFrame(7, CID.CID_OTHER_HEARTBEAT, 3, Buffer.alloc(0)));
    expect(seen).toEqual([CID.CID_OTHER_HEARTBEAT]);
    expect(await refusalCount('command_before_login')).toBe(before + 2);
    // One log line per offender per interval, not one per frame.
    expect(lines.filter((l) => l.msg === 'refused' && l.reason === 'command_before_login').map((l) => l.cid)).toEqual([CID.CID_MSG_DATA]);
    // While authenticating the rule still holds.
    conn.beginLogin(1, 1);
    transport.feed(encodeFrame(3, CID.CID_MSG_DATA, 4, msgData(5, 6, 'x')));
    expect(seen).toEqual([CID.CID_OTHER_HEARTBEAT]);
    expect(conn.isClosed).toBe(false);
    // Once open, the same command runs.
    login(5);
    transport.feed(encodeFrame(3, CID.CID_MSG_DATA, 5, msgData(5, 6, 'x')));
    expect(seen).toEqual([CID.CID_OTHER_HEARTBEAT, CID.CID_MSG_DATA]);
  });

  it('drops an undecodable body, counted and logged once, and keeps the connection open', async () => {
    const before = await refusalCount('undecodable_body');
    const got: string[] = [];
    const table: HandlerTable = {
      [CID.CID_MSG_DATA]: on(IM.Message.IMMsgData.decode, (_c, _k, m) => void got.push(Buffer.from(m.msgData).toString())),
    };
    const { conn, transport, lines, login } = setup([table]);
    conns.push(conn);
    login(5);
    // Truncated varint, then a message missing its required fields.
    transport.feed(encodeFrame(3, CID.CID_MSG_DATA, 1, Buffer.from([0x08, 0xff])));
    transport.feed(encodeFrame(3, CID.CID_MSG_DATA, 2, Buffer.alloc(0)));
    transport.feed(encodeFrame(3, CID.CID_MSG_DATA, 3, msgData(5, 6, 'ok')));
    expect(got).toEqual(['ok']);
    expect(await refusalCount('undecodable_body')).toBe(before + 2);
    const warns = lines.filter((l) => l.msg === 'refused' && l.reason === 'undecodable_body');
    expect(warns.map((l) => [l.level, l.seq, l.offender])).toEqual([['warn', 1, 'user:5']]);
    expect(conn.isClosed).toBe(false);
  });

  it('counts and ignores unknown command ids, connection kept', async () => {
    const before = await refusalCount('unknown_command');
    const { conn, transport, lines, login } = setup([otherHandlers]);
    conns.push(conn);
    login(5);
    transport.feed(encodeFrame(0x7f, 0x7f01, 4, Buffer.from('junk')));
    expect(lines.some((l) => l.msg === 'refused' && l.reason === 'unknown_command' && l.cid === 0x7f01 && l.seq === 4)).toBe(true);
    expect(await refusalCount('unknown_command')).toBe(before + 1);
    expect(conn.isClosed).toBe(false);
    transport.feed(encodeFrame(7, CID.CID_OTHER_HEARTBEAT, 5, Buffer.alloc(0)));
    expect(transport.written).toHaveLength(1);
  });

  it('catches a handler that throws or rejects, logging sid/cid/seq/userId', async () => {
    const table: HandlerTable = {
      [CID.CID_MSG_DATA]: on(IM.Message.IMMsgData.decode, () => {
        throw new Error('boom');
      }),
      [CID.CID_MSG_TIME_REQUEST]: on(IM.Message.IMClientTimeReq.decode, async () => {
        await Promise.resolve();
        throw new Error('async boom');
      }),
    };
    const { conn, transport, lines, login } = setup([table]);
    conns.push(conn);
    login(42);
    transport.feed(encodeFrame(3, CID.CID_MSG_DATA, 11, msgData(42, 6, 'x')));
    transport.feed(encodeFrame(3, CID.CID_MSG_TIME_REQUEST, 12, Buffer.alloc(0)));
    await new Promise((r) => setImmediate(r));
    const errors = lines.filter((l) => l.msg === 'handler failed');
    expect(errors.map((l) => [l.level, l.sid, l.cid, l.seq, l.userId])).toEqual([
      ['error', 3, CID.CID_MSG_DATA, 11, 42],
      ['error', 3, CID.CID_MSG_TIME_REQUEST, 12, 42],
    ]);
    expect(conn.isClosed).toBe(false);
  });

  it('heartbeat is echoed unchanged, seq included (real handler)', () => {
    const { conn, transport } = setup([otherHandlers]);
    conns.push(conn);
    const hb = encodeFrame(7, CID.CID_OTHER_HEARTBEAT, 0xbeef, Buffer.alloc(0));
    transport.feed(hb);
    expect(transport.written).toHaveLength(1);
    expect(transport.written[0].equals(hb)).toBe(true);
  });
});
