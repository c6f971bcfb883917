// Shared steps for end-to-end tests: real processes, real MariaDB/Redis/etcd,
// clients speaking TeamTalk's wire protocol through the SDK.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { createPool, Pool, RowDataPacket } from 'mysql2/promise';
import { TeamTalkClient } from '@tiertalk/client';
import { IM } from '@tiertalk/proto';
import { Cluster, GatewayInfo, testConfig } from '@tiertalk/testkit';

export const DEMO_PASSWORD = 'tiertalk';
export const PC = IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS;
export const MAC = IM.BaseDefine.ClientType.CLIENT_TYPE_MAC;
export const ANDROID = IM.BaseDefine.ClientType.CLIENT_TYPE_ANDROID;

export const md5hex = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

export async function connect(gw: GatewayInfo, transport: 'tcp' | 'ws' = 'tcp'): Promise<TeamTalkClient> {
  return TeamTalkClient.connect({
    host: '127.0.0.1',
    port: transport === 'tcp' ? gw.tcpPort : gw.wsPort,
    transport,
    heartbeatMs: 0,
    requestTimeoutMs: 5000,
  });
}

export async function loggedIn(gw: GatewayInfo, user: string, clientType: IM.BaseDefine.ClientType = PC): Promise<TeamTalkClient> {
  const c = await connect(gw);
  await c.login(user, DEMO_PASSWORD, { clientType });
  return c;
}

/** Resolves with the next IMMsgData the client receives (rejects after timeoutMs). */
export function nextMessage(c: TeamTalkClient, timeoutMs = 5000): Promise<IM.Message.IMMsgData> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.off('message', onMessage);
      reject(new Error(`no message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: IM.Message.IMMsgData): void => {
      clearTimeout(timer);
      c.off('message', onMessage);
      resolve(m);
    };
    c.on('message', onMessage);
  });
}

/** Collects every message a client receives until stopped. */
export function collectMessages(c: TeamTalkClient): IM.Message.IMMsgData[] {
  const got: IM.Message.IMMsgData[] = [];
  c.on('message', (m: IM.Message.IMMsgData) => got.push(m));
  return got;
}

/** Resolves true if the socket is closed by the server within timeoutMs. */
export function closedWithin(c: TeamTalkClient, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), timeoutMs);
  });
  // The timer must not outlive the answer: it would keep jest from exiting.
  return Promise.race([c.closed.then(() => true), late]).finally(() => clearTimeout(timer));
}

export function rawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

export function socketClosedWithin(s: net.Socket, timeoutMs: number): Promise<boolean> {
  if (s.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export function testDbPool(): Pool {
  return createPool({ uri: testConfig.mysqlTestUrl, connectionLimit: 2 });
}

export async function userId(pool: Pool, name: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM IMUser WHERE name = ? ORDER BY id DESC LIMIT 1', [name]);
  return Number(rows[0].id);
}

/** Every stored 1:1 message between two users, oldest first. */
export async function storedMessages(pool: Pool, a: number, b: number): Promise<Array<{ msgId: number; fromId: number; content: string }>> {
  const [rel] = await pool.query<RowDataPacket[]>('SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ? AND status = 0', [
    Math.min(a, b),
    Math.max(a, b),
  ]);
  if (rel.length === 0) return [];
  const relateId = Number(rel[0].id);
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT msgId, fromId, content FROM IMMessage_${relateId % 8} WHERE relateId = ? ORDER BY msgId`,
    [relateId],
  );
  return rows.map((r) => ({ msgId: Number(r.msgId), fromId: Number(r.fromId), content: String(r.content) }));
}

export type { Cluster };

/**
 * Inserts a user into IMUser as TeamTalk's admin tool does (stored password =
 * md5(md5(plain) + salt)) and returns its id.
 */
export async function createUser(pool: Pool, name: string, password = DEMO_PASSWORD, salt = 'Tt9s'): Promise<number> {
  await pool.query(
    "INSERT INTO IMUser (sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, created, updated) VALUES (1, ?, ?, ?, ?, ?, '', '', '', 1, 0, 0, 0)",
    [name, name, name, md5hex(md5hex(password) + salt), salt],
  );
  return userId(pool, name);
}
