import { createLogger } from '@tiertalk/log';
import { TEST_CONNECTION_LIMITS } from '../../test/connection-fixture';
import { Connection } from './connection';
import { ConnectionRegistry } from './connection-registry';
import type { Transport } from './transport';

const log = createLogger({ service: 'msg-test', instanceId: 'test', level: 'silent' });

const LIMITS = TEST_CONNECTION_LIMITS;

function transport(): Transport {
  return { kind: 'tcp', remoteAddress: '127.0.0.1:1', bufferedBytes: 0, attach() {}, write: () => true, pause() {}, resume() {}, end() {}, destroy() {} };
}

const registry = new ConnectionRegistry(log);
const opened: Connection[] = [];

function connect(userId: number): Connection {
  const conn = new Connection(transport(), LIMITS, { onFrame() {}, onClose: (c) => registry.remove(c) }, log);
  opened.push(conn);
  registry.add(conn);
  registry.bindUser(conn, userId);
  return conn;
}

afterAll(() => {
  for (const c of opened) c.close('test over', 'destroy');
});

it("visits every one of a user's connections while closing them, then forgets the user", () => {
  const pc = connect(7);
  const mobile = connect(7);
  const other = connect(8);
  expect(registry.connectionsOf(7)).toEqual([pc, mobile]);
  const visited: Connection[] = [];
  for (const c of registry.connectionsOf(7)) {
    visited.push(c);
    c.close('kicked', 'destroy');
  }
  expect(visited).toEqual([pc, mobile]);
  expect(registry.connectionsOf(7)).toEqual([]);
  expect(registry.connectionsOf(8)).toEqual([other]);
  expect(registry.size).toBe(1);
});

it('sweeps expired awaiting acks of the connections that have any', () => {
  const idle = connect(9);
  const busy = connect(10);
  busy.awaiting.add(9, 1, 0);
  expect(registry.sweepAwaiting(60_000)).toBe(1);
  expect(idle.awaitingCount).toBe(0);
  expect(busy.awaitingCount).toBe(0);
});
