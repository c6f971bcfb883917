import type { RowDataPacket } from 'mysql2/promise';
import { IM, tiertalk } from '@tiertalk/proto';
import { MessageCommitter, StoreOutcome } from '../src/handlers/message/message-committer';
import { Instance, openOfflineFixture, OfflineFixture } from './offline-fixture';

const { STORE_OK, STORE_REJECTED } = tiertalk.StoreResult;
const TEXT = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT;
let fx: OfflineFixture;
let instance: Instance;
let committer: MessageCommitter;

function msg(from: number, to: number, text: string | Uint8Array, type: IM.BaseDefine.MsgType = TEXT): IM.Message.IMMsgData {
  return IM.Message.IMMsgData.create({
    fromUserId: from,
    toSessionId: to,
    msgId: 0,
    createTime: 1_700_000_000,
    msgType: type,
    msgData: typeof text === 'string' ? Buffer.from(text, 'utf8') : text,
  });
}

function store(m: IM.Message.IMMsgData): Promise<StoreOutcome> {
  return new Promise((resolve) => committer.submit({ msg: m, done: resolve }));
}

interface Row extends RowDataPacket {
  relateId: number;
  fromId: number;
  toId: number;
  msgId: number;
  content: string;
  type: number;
  status: number;
  created: number;
}

async function rowsOf(table: string): Promise<Row[]> {
  const [rows] = await fx.pool.query<Row[]>(`SELECT * FROM ${table} ORDER BY id`);
  return rows;
}

async function relateId(a: number, b: number): Promise<number> {
  const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ? AND status = 0', [
    Math.min(a, b),
    Math.max(a, b),
  ]);
  expect(rows).toHaveLength(1);
  return Number(rows[0].id);
}

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_committer_test');
});
afterAll(async () => {
  await fx.close();
});
beforeEach(() => {
  instance = fx.instance();
  committer = instance.committer;
});
afterEach(async () => {
  await instance.close();
});

describe('storing 1:1 messages', () => {
  it('writes the row into IMMessage_<relateId % 8>, numbers the pair 1, 2, 3 in both directions and counts unread', async () => {
    expect(await store(msg(1, 2, 'hello bob'))).toEqual({ result: STORE_OK, msgId: 1 });
    expect(await store(msg(2, 1, 'hi alice'))).toEqual({ result: STORE_OK, msgId: 2 });
    expect(await store(msg(1, 2, 'how are you'))).toEqual({ result: STORE_OK, msgId: 3 });

    const rel = await relateId(1, 2);
    const rows = (await rowsOf(`IMMessage_${rel % 8}`)).filter((r) => r.relateId === rel);
    expect(rows.map((r) => [r.fromId, r.toId, r.msgId, r.content, r.type, r.status, r.created])).toEqual([
      [1, 2, 1, 'hello bob', 1, 0, 1_700_000_000],
      [2, 1, 2, 'hi alice', 1, 0, 1_700_000_000],
      [1, 2, 3, 'how are you', 1, 0, 1_700_000_000],
    ]);
    for (let shard = 0; shard < 8; shard++) {
      if (shard === rel % 8) continue;
      expect((await rowsOf(`IMMessage_${shard}`)).filter((r) => r.relateId === rel)).toHaveLength(0);
    }
    expect(await fx.redis.get(`msg_id_${rel}`)).toBe('3');
    expect(await fx.redis.hget('unread_2', '1')).toBe('2');
    expect(await fx.redis.hget('unread_1', '2')).toBe('1');

    const [sessions] = await fx.pool.query<RowDataPacket[]>(
      'SELECT userId, peerId, type, status FROM IMRecentSession WHERE (userId = 1 AND peerId = 2) OR (userId = 2 AND peerId = 1) ORDER BY userId',
    );
    expect(sessions.map((s) => [s.userId, s.peerId, s.type, s.status])).toEqual([
      [1, 2, 1, 0],
      [2, 1, 1, 0],
    ]);
  });

  it('rebuilds a lost msg_id counter from the shard instead of restarting at 1', async () => {
    await store(msg(3, 4, 'one'));
    await store(msg(3, 4, 'two'));
    const rel = await relateId(3, 4);
    await fx.redis.del(`msg_id_${rel}`);
    expect(await store(msg(4, 3, 'three'))).toEqual({ result: STORE_OK, msgId: 3 });
    const ids = (await rowsOf(`IMMessage_${rel % 8}`)).filter((r) => r.relateId === rel).map((r) => r.msgId);
    expect(ids).toEqual([1, 2, 3]);
  });

  it('stores hostile text byte-for-byte through bound parameters', async () => {
    const hostile = "x' OR '1'='1; DROP TABLE IMUser; -- \\ \" 你好 🎉";
    const out = await store(msg(1, 3, hostile));
    expect(out.result).toBe(STORE_OK);
    const rel = await relateId(1, 3);
    const rows = (await rowsOf(`IMMessage_${rel % 8}`)).filter((r) => r.relateId === rel);
    expect(rows.map((r) => r.content)).toEqual([hostile]);
    const [users] = await fx.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMUser');
    // The demo users and migration 0011's system sender: nothing written by the hostile text.
    expect(Number(users[0].n)).toBe(5);
  });

  it('rejects what cannot be stored and stores nothing for it', async () => {
    const before = await countAllMessages();
    const outcomes = await Promise.all([
      store(msg(1, 1, 'to myself')),
      store(msg(1, 2, '')),
      store(msg(1, 2, Buffer.from([0xff, 0xfe, 0x00]))),
      store(msg(1, 2, 'x'.repeat(4097))),
      store(msg(0, 2, 'from nobody')),
      store(msg(1, 2, 'group?', IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT)),
      // docs/FLOWS.md §4: audio of 4 bytes or less (a duration and no sound) is refused
      store(msg(1, 2, Buffer.from([0, 0, 0, 3]), IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO)),
    ]);
    for (const o of outcomes) {
      expect(o.result).toBe(STORE_REJECTED);
      expect(o.msgId).toBe(0);
      expect(o.reason).toEqual(expect.any(String));
    }
    expect(await countAllMessages()).toBe(before);
    // the 4096-character limit itself is accepted
    expect((await store(msg(1, 2, 'y'.repeat(4096)))).result).toBe(STORE_OK);
  });

  it('commits a burst across many pairs with gapless ids per pair and one unread count per message', async () => {
    const users = Array.from({ length: 20 }, (_, i) => 100 + i);
    const sends: Array<Promise<StoreOutcome>> = [];
    const expected = new Map<string, number>();
    for (let round = 0; round < 25; round++) {
      for (let i = 0; i < users.length; i += 2) {
        sends.push(store(msg(users[i], users[i + 1], `m${round}`)));
        expected.set(`${users[i]}:${users[i + 1]}`, round + 1);
      }
    }
    const outcomes = await Promise.all(sends);
    expect(outcomes.every((o) => o.result === STORE_OK)).toBe(true);
    for (let i = 0; i < users.length; i += 2) {
      const rel = await relateId(users[i], users[i + 1]);
      const ids = (await rowsOf(`IMMessage_${rel % 8}`)).filter((r) => r.relateId === rel).map((r) => r.msgId);
      expect(ids).toEqual(Array.from({ length: 25 }, (_, k) => k + 1));
      expect(await fx.redis.hget(`unread_${users[i + 1]}`, String(users[i]))).toBe('25');
    }
  });
});

describe('audio messages', () => {
  it('keep the bytes in IMAudioData, an IMAudio row (path tt-db:<id>, size, duration) and the id as content', async () => {
    const clip = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256))]);
    const out = await store(msg(300, 301, clip, IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO));
    expect(out).toEqual({ result: STORE_OK, msgId: 1 });
    const rel = await relateId(300, 301);
    const [row] = (await rowsOf(`IMMessage_${rel % 8}`)).filter((r) => r.relateId === rel);
    expect(row.type).toBe(2);
    const audioId = Number(row.content);
    expect(String(audioId)).toBe(row.content);
    const [audio] = await fx.pool.query<RowDataPacket[]>('SELECT fromId, toId, path, size, duration FROM IMAudio WHERE id = ?', [audioId]);
    expect(audio[0]).toMatchObject({ fromId: 300, toId: 301, path: `tt-db:${audioId}`, size: 3000, duration: 7 });
    const [data] = await fx.pool.query<RowDataPacket[]>('SELECT data FROM IMAudioData WHERE audioId = ?', [audioId]);
    expect(Buffer.compare(data[0].data, clip.subarray(4))).toBe(0);
    expect(await fx.redis.hget('unread_301', '300')).toBe('1');
  });
});

describe('a failing transaction', () => {
  it('rolls back the messages already inserted in it, reports STORE_FAILED (no ACK) and recovers', async () => {
    // Sessions known from a first message: the next commit is INSERT message, then UPDATE session.
    expect((await store(msg(200, 201, 'first'))).result).toBe(STORE_OK);
    await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000))); // next second: the UPDATE is due
    const before = await countAllMessages();
    await fx.pool.query('RENAME TABLE IMRecentSession TO IMRecentSession_away');
    try {
      const out = await store(msg(200, 201, 'lost in rollback'));
      expect(out).toMatchObject({ result: tiertalk.StoreResult.STORE_FAILED, msgId: 0 });
    } finally {
      await fx.pool.query('RENAME TABLE IMRecentSession_away TO IMRecentSession');
    }
    expect(await countAllMessages()).toBe(before);
    expect(await fx.redis.hget('unread_201', '200')).toBe('1');
    const again = await store(msg(200, 201, 'again'));
    // The failed commit's id is not handed out again: a gap, never a reuse.
    expect(again).toEqual({ result: STORE_OK, msgId: 3 });
    // The connection went back to the pool: the failed transaction must not be committed by its next user.
    expect(await countAllMessages()).toBe(before + 1);
  });
});

async function countAllMessages(): Promise<number> {
  let n = 0;
  for (let shard = 0; shard < 8; shard++) n += (await rowsOf(`IMMessage_${shard}`)).length;
  return n;
}
