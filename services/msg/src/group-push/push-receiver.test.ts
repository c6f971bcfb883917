// The gateway's Push receiver with the group traffic control: group messages
// are budgeted, 1:1 traffic never waits behind them, a repeated group push is
// not delivered twice, and the origin connection is skipped.
import { CID, IM, isGroupMsgType, tiertalk } from '@tiertalk/proto';
import { FrameReader } from '@tiertalk/pdu';
import { createLogger } from '@tiertalk/log';
import { RefusalLog } from '@tiertalk/metrics';
import { loadMsgConfig } from '../config';
import { Connection } from '../conn/connection';
import { ConnectionRegistry } from '../conn/connection-registry';
import type { Transport, TransportSink } from '../conn/transport';
import type { GatewayContext } from '../gateway-context';
import { PushReceiver } from '../gateway-service';
import { GroupPushControl } from './traffic-control';

class MemoryTransport implements Transport {
  readonly kind = 'tcp';
  readonly remoteAddress = 'memory';
  readonly written: Buffer[] = [];
  attach(_sink: TransportSink): void {}
  write(chunk: Buffer): boolean {
    this.written.push(chunk);
    return true;
  }
  get bufferedBytes(): number {
    return 0;
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {}
}

const log = createLogger({ service: 'msg-test', instanceId: 'test', level: 'silent' });
const GROUP = 900;

function setup(tickets: number) {
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
  const control = new GroupPushControl<Connection>({
    enabled: true,
    tickets,
    intervalMs: 1000,
    queueMax: 1000,
    timeoutMs: 30_000,
    sliceMs: 10,
    maxLoopDelayMs: 10_000,
    connHighWaterBytes: 256 * 1024,
    logger: log,
  });
  controls.push(control);
  const receiver = new PushReceiver(ctx, control);
  const transports = new Map<Connection, MemoryTransport>();
  const user = (userId: number): Connection => {
    const t = new MemoryTransport();
    const conn = new Connection(t, config.conn, { onFrame: () => undefined, onClose: (c) => connections.remove(c) }, log);
    connections.add(conn);
    conn.beginLogin(IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS, IM.BaseDefine.UserStatType.USER_STATUS_ONLINE);
    connections.bindUser(conn, userId);
    connections.markOpen(conn);
    transports.set(conn, t);
    return conn;
  };
  /** The IMMsgData frames a connection received. */
  const received = (conn: Connection): IM.Message.IMMsgData[] => {
    const reader = new FrameReader();
    const out: IM.Message.IMMsgData[] = [];
    for (const chunk of transports.get(conn)?.written ?? []) {
      for (const f of reader.push(chunk)) if (f.commandId === CID.CID_MSG_DATA) out.push(IM.Message.IMMsgData.decode(f.body));
    }
    return out;
  };
  /** How many CID_MSG_DATA frames a connection received, whatever their body. */
  const msgFrames = (conn: Connection): number => {
    const reader = new FrameReader();
    let n = 0;
    for (const chunk of transports.get(conn)?.written ?? []) for (const f of reader.push(chunk)) if (f.commandId === CID.CID_MSG_DATA) n += 1;
    return n;
  };
  return { receiver, control, user, received, msgFrames };
}

function msg(msgType: number, from: number, to: number, msgId: number): Uint8Array {
  return IM.Message.IMMsgData.encode({ fromUserId: from, toSessionId: to, msgId, createTime: 1, msgType, msgData: Buffer.from(`m${msgId}`) }).finish();
}

const { MESSAGE_KIND_SINGLE, MESSAGE_KIND_GROUP } = tiertalk.MessageKind;

/** A stored message's push as route makes it: the IMMsgData body and its ids beside it. */
function messagePush(msgType: number, from: number, to: number, msgId: number, toUserIds: number[]): tiertalk.Push.$Properties {
  const kind = isGroupMsgType(msgType) ? MESSAGE_KIND_GROUP : MESSAGE_KIND_SINGLE;
  return { commandId: CID.CID_MSG_DATA, body: msg(msgType, from, to, msgId), toUserIds, kind, msgId, fromUserId: from, toSessionId: to };
}

const open: Connection[] = [];
const controls: Array<GroupPushControl<Connection>> = [];
afterEach(() => {
  for (const c of controls.splice(0)) c.close();
  for (const c of open.splice(0)) c.close('test end', 'destroy');
});

describe('PushReceiver with group traffic control', () => {
  it('budgets group pushes, lets 1:1 through at once, skips the origin and repeated pushes', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'clearImmediate', 'nextTick'] });
    try {
      const { receiver, control, user, received } = setup(3);
      const members = [1, 2, 3, 4, 5].map((id) => user(id));
      const senderOther = user(1); // the sender's second device
      open.push(...members, senderOther);
      const origin = members[0];
      const groupPush = (msgId: number): tiertalk.Push.$Properties => ({
        ...messagePush(IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT, 1, GROUP, msgId, [1, 2, 3, 4, 5]),
        originConnId: origin.id,
      });
      expect(receiver.apply(groupPush(1))).toBe(true);
      // 5 deliveries (6 connections minus the origin); the next slice writes 3 (the ceiling): 2 wait.
      expect(control.queuedDeliveries).toBe(5);
      await new Promise((r) => setImmediate(r));
      expect(control.queuedDeliveries).toBe(2);
      // The same message again (a repeated push) is not delivered again.
      receiver.apply(groupPush(1));
      expect(control.queuedDeliveries).toBe(2);
      // 1:1 goes out at once although the group budget is spent.
      receiver.apply(messagePush(IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, 9, 5, 77, [5]));
      expect(received(members[4]).map((m) => m.msgId)).toContain(77);
      jest.advanceTimersByTime(1000);
      await new Promise((r) => setImmediate(r));
      expect(control.queuedDeliveries).toBe(0);
      expect(received(origin)).toEqual([]);
      for (const conn of [...members.slice(1), senderOther]) {
        const group = received(conn).filter((m) => m.toSessionId === GROUP);
        expect(group.map((m) => m.msgId)).toEqual([1]);
      }
      // No awaiting-ack entry for group messages (docs/FLOWS.md §10.2 step 4); the 1:1 one is awaited.
      expect(members[1].awaiting.size).toBe(0);
      expect(members[4].awaiting.size).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('writes a resent 1:1 or group message only to connections that did not get it yet', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'clearImmediate', 'nextTick'] });
    try {
      const { receiver, user, received } = setup(100);
      const bob = user(2);
      const carol = user(3);
      open.push(bob, carol);
      const single = messagePush(IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, 9, 2, 8, [2]);
      const group = (toUserIds: number[]): tiertalk.Push.$Properties => messagePush(IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT, 9, GROUP, 5, toUserIds);
      receiver.apply(single);
      receiver.apply(group([2, 3]));
      // Resent (route lost the acknowledgement): nothing new for bob and carol.
      receiver.apply(single);
      receiver.apply(group([2, 3]));
      // Bob's second device logged in meanwhile: the resend reaches it, and only it.
      const bobPhone = user(2);
      open.push(bobPhone);
      receiver.apply(single);
      receiver.apply(group([2, 3]));
      await new Promise((r) => setImmediate(r));
      const ids = (conn: Connection): string[] => received(conn).map((m) => `${m.toSessionId}:${m.msgId}`);
      expect(ids(bob)).toEqual(['2:8', `${GROUP}:5`]);
      expect(ids(carol)).toEqual([`${GROUP}:5`]);
      expect(ids(bobPhone)).toEqual(['2:8', `${GROUP}:5`]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('keys awaiting-ack and repeat checks on the push\'s kind and ids, never decoding the body', async () => {
    const { receiver, control, user, msgFrames } = setup(100);
    const bob = user(2);
    const carol = user(3);
    open.push(bob, carol);
    // Bodies that are no IMMsgData at all: only the fields can say what these are.
    const opaque = Buffer.from([0xff, 0xff, 0xff]);
    const single: tiertalk.Push.$Properties = {
      commandId: CID.CID_MSG_DATA, body: opaque, toUserIds: [2], kind: MESSAGE_KIND_SINGLE, msgId: 41, fromUserId: 9, toSessionId: 2,
    };
    const group: tiertalk.Push.$Properties = {
      commandId: CID.CID_MSG_DATA, body: opaque, toUserIds: [3], kind: MESSAGE_KIND_GROUP, msgId: 42, fromUserId: 9, toSessionId: GROUP,
    };
    expect(receiver.apply(single)).toBe(true);
    expect(receiver.apply(single)).toBe(true);
    expect(receiver.apply(group)).toBe(true);
    expect(receiver.apply(group)).toBe(true);
    await new Promise((r) => setImmediate(r));
    // Written once each: the repeat check keyed on from:to:msg_id and g<group>:msg_id.
    expect(msgFrames(bob)).toBe(1);
    expect(msgFrames(carol)).toBe(1);
    expect(control.queuedDeliveries).toBe(0);
    // The awaiting-ack entry is the push's (from_user_id, msg_id); the group message awaits nothing.
    expect(bob.awaiting.remove(9, 41)).toBe(true);
    expect(carol.awaiting.size).toBe(0);
  });
});
