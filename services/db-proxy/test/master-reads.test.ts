// Login (Validate) and access checks read the MySQL master, never a replica
// (issue 10): here the "replica" is a database without any tables, the most
// lagging replica there is, so any read that went to it would fail.
import { createHash } from 'node:crypto';
import { createPool, Pool } from 'mysql2/promise';
import { IM } from '@tiertalk/proto';
import { createValidateHandler } from '../src/handlers/login/create-validate';
import { VALIDATE_OK } from '../src/handlers/login/validate';
import { createOfflineStores } from '../src/handlers/message/offline-stores';
import type { MysqlPools } from '../src/store/mysql';
import { MessageShardServers } from '../src/store/shard-servers';
import type { RedisInstances } from '../src/store/redis';
import { ensureDatabase } from '../src/store/migrate';
import { AES_KEY, openOfflineFixture, OfflineFixture, silentLog } from './offline-fixture';
import { testValidateOptions } from './validate-fixture';

const STALE_REPLICA_DB = 'a_tt_dbproxy_stale_replica';
let fx: OfflineFixture;
let stale: Pool;
let pools: MysqlPools;

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_master_reads_test');
  await ensureDatabase('mysql://root@127.0.0.1:3306', STALE_REPLICA_DB);
  stale = createPool({ uri: `mysql://root@127.0.0.1:3306/${STALE_REPLICA_DB}`, connectionLimit: 2 });
  pools = { master: fx.pool, writer: fx.pool, replica: stale, shards: MessageShardServers.single(fx.pool, fx.pool), close: async () => undefined };
});
afterAll(async () => {
  await stale.query(`DROP DATABASE IF EXISTS ${STALE_REPLICA_DB}`);
  await stale.end();
  await fx.close();
});

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

it('Validate checks the password on the master', async () => {
  const handler = createValidateHandler(pools, fx.redis, testValidateOptions(), silentLog);
  const rsp = await handler.validate(IM.Server.IMValidateReq.create({ userName: 'alice', password: md5('tiertalk') }));
  expect(rsp.resultCode).toBe(VALIDATE_OK);
  expect(rsp.userInfo?.userId).toBe(fx.ids.alice);
});

it('group membership (the access check of group history and read acks) is read from the master', async () => {
  const redis = { unread: fx.redis, groupSet: fx.redis, token: fx.redis, sync: fx.redis, groupMember: fx.redis, close: async () => undefined } as RedisInstances;
  const stores = createOfflineStores(pools, redis, { convIndexLimit: 100, convIndexTtlSec: 60, aesKey: AES_KEY });
  // A member added a moment ago, not yet cached in Redis.
  await fx.pool.query('INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES (77, ?, 0, 1234, 1234)', [fx.ids.bob]);
  await fx.redis.del('group_member_77');
  expect(await stores.groups.joinTime(fx.ids.bob, 77)).toBe(1234);
  expect(await stores.groups.joinTime(fx.ids.carol, 77)).toBeUndefined();
});

it('history (relation, page, latest) is read from the master: a message just stored is in the next pull', async () => {
  const redis = { unread: fx.redis, groupSet: fx.redis, token: fx.redis, sync: fx.redis, groupMember: fx.redis, close: async () => undefined } as RedisInstances;
  const stores = createOfflineStores(pools, redis, { convIndexLimit: 100, convIndexTtlSec: 60, aesKey: AES_KEY });
  const [a, b] = [Math.min(fx.ids.alice, fx.ids.dave), Math.max(fx.ids.alice, fx.ids.dave)];
  await fx.pool.query('INSERT INTO IMRelationShip (smallId, bigId, status, created, updated) VALUES (?, ?, 0, 1, 1)', [a, b]);
  const relateId = await stores.relations.find(fx.ids.alice, fx.ids.dave);
  if (relateId === undefined) throw new Error('relation not found on the master');
  await fx.pool.query(`INSERT INTO IMMessage_${relateId % 8} (relateId, fromId, toId, msgId, content, type, status, created, updated) VALUES (?, ?, ?, 1, 'hi', 1, 0, 5, 5)`, [
    relateId,
    fx.ids.alice,
    fx.ids.dave,
  ]);
  expect((await stores.messages.page(relateId, 0, 10)).map((m) => m.msgId)).toEqual([1]);
  expect((await stores.messages.latest([relateId])).get(relateId)?.msgId).toBe(1);
});
