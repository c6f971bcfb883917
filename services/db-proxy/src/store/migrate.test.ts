// Migrations against the real MariaDB in throwaway databases: the resulting
// schema must be TeamTalk's ttopen.sql (docs/STORAGE.md §1) column for column.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { testConfig } from '@tiertalk/testkit';
import {
  MIGRATIONS_DIR,
  ensureDatabase,
  runMigrations,
  seedDemo,
  splitDatabaseUrl,
  splitStatements,
} from './migrate';

const ROOT_URL = testConfig.mysqlRootUrl;
const ALL_VERSIONS = ['0001_teamtalk_schema', '0002_transmit_file', '0003_audio_data', '0004_group_admin', '0005_message_idempotency', '0006_message_id_unique', '0007_recent_session_unique', '0008_counter_outbox', '0009_read_cursor', '0010_password_hash', '0011_system_user'];
const quiet = { info: (): void => undefined };

// [name, COLUMN_TYPE, nullable, COLUMN_DEFAULT as information_schema shows it]
type Col = [string, string, boolean, string | null];
interface TableSpec {
  collation: string;
  cols: Col[];
  keys: Record<string, string[]>;
}

const U11 = 'int(11) unsigned';
const utf8mb4 = 'utf8mb4_bin';
const utf8 = 'utf8mb3_general_ci'; // MariaDB 10.11 reports `utf8` as utf8mb3

function messageShard(): TableSpec {
  return {
    collation: utf8mb4,
    cols: [
      ['id', 'int(11)', false, null],
      ['relateId', U11, false, null],
      ['fromId', U11, false, null],
      ['toId', U11, false, null],
      ['msgId', U11, false, null],
      ['content', 'varchar(4096)', true, "''"],
      ['type', 'tinyint(2) unsigned', false, '1'],
      ['status', 'tinyint(1) unsigned', false, '0'],
      ['updated', U11, false, null],
      ['created', U11, false, null],
    ],
    keys: {
      PRIMARY: ['id'],
      idx_relateId_status_created: ['relateId', 'status', 'created'],
      idx_relateId_status_msgId_created: ['relateId', 'status', 'msgId', 'created'],
      idx_fromId_toId_created: ['fromId', 'toId', 'status'],
      // TierTalk's (migration 0006): an id is stored once per conversation.
      uk_relateId_msgId: ['relateId', 'msgId'],
    },
  };
}

function groupMessageShard(): TableSpec {
  return {
    collation: utf8mb4,
    cols: [
      ['id', 'int(11)', false, null],
      ['groupId', U11, false, null],
      ['userId', U11, false, null],
      ['msgId', U11, false, null],
      ['content', 'varchar(4096)', false, "''"],
      ['type', 'tinyint(3) unsigned', false, '2'],
      ['status', U11, false, '0'],
      ['updated', U11, false, '0'],
      ['created', U11, false, '0'],
    ],
    keys: {
      PRIMARY: ['id'],
      idx_groupId_status_created: ['groupId', 'status', 'created'],
      idx_groupId_msgId_status_created: ['groupId', 'msgId', 'status', 'created'],
      uk_groupId_msgId: ['groupId', 'msgId'],
    },
  };
}

const EXPECTED: Record<string, TableSpec> = {
  IMAdmin: {
    collation: utf8,
    cols: [
      ['id', 'mediumint(6) unsigned', false, null],
      ['uname', 'varchar(40)', false, null],
      ['pwd', 'char(32)', false, null],
      ['status', 'tinyint(2) unsigned', false, '0'],
      ['created', U11, false, '0'],
      ['updated', U11, false, '0'],
    ],
    keys: { PRIMARY: ['id'] },
  },
  IMAudio: {
    collation: utf8mb4,
    cols: [
      ['id', 'int(11)', false, null],
      ['fromId', U11, false, null],
      ['toId', U11, false, null],
      ['path', 'varchar(255)', true, "''"],
      ['size', U11, false, '0'],
      ['duration', U11, false, '0'],
      ['created', U11, false, null],
    ],
    keys: { PRIMARY: ['id'], idx_fromId_toId: ['fromId', 'toId'] },
  },
  IMDepart: {
    collation: utf8mb4,
    cols: [
      ['id', U11, false, null],
      ['departName', 'varchar(64)', false, "''"],
      ['priority', U11, false, '0'],
      ['parentId', U11, false, null],
      ['status', U11, false, '0'],
      ['created', U11, false, null],
      ['updated', U11, false, null],
    ],
    keys: { PRIMARY: ['id'], idx_departName: ['departName'], idx_priority_status: ['priority', 'status'] },
  },
  IMDiscovery: {
    collation: utf8mb4,
    cols: [
      ['id', U11, false, null],
      ['itemName', 'varchar(64)', false, "''"],
      ['itemUrl', 'varchar(64)', false, "''"],
      ['itemPriority', U11, false, null],
      ['status', U11, false, '0'],
      ['created', U11, false, null],
      ['updated', U11, false, null],
    ],
    keys: { PRIMARY: ['id'], idx_itemName: ['itemName'] },
  },
  IMGroup: {
    collation: utf8mb4,
    cols: [
      ['id', 'int(11)', false, null],
      ['name', 'varchar(256)', false, "''"],
      ['avatar', 'varchar(256)', false, "''"],
      ['creator', U11, false, '0'],
      ['type', 'tinyint(3) unsigned', false, '1'],
      ['userCnt', U11, false, '0'],
      ['status', 'tinyint(3) unsigned', false, '1'],
      ['version', U11, false, '1'],
      ['lastChated', U11, false, '0'],
      ['updated', U11, false, '0'],
      ['created', U11, false, '0'],
    ],
    keys: { PRIMARY: ['id'], idx_name: ['name(191)'], idx_creator: ['creator'] },
  },
  IMGroupMember: {
    collation: utf8,
    cols: [
      ['id', 'int(11)', false, null],
      ['groupId', U11, false, null],
      ['userId', U11, false, null],
      ['status', 'tinyint(4) unsigned', false, '1'],
      ['created', U11, false, '0'],
      ['updated', U11, false, '0'],
    ],
    keys: {
      PRIMARY: ['id'],
      idx_groupId_userId_status: ['groupId', 'userId', 'status'],
      idx_userId_status_updated: ['userId', 'status', 'updated'],
      idx_groupId_updated: ['groupId', 'updated'],
    },
  },
  IMRecentSession: {
    collation: utf8,
    cols: [
      ['id', 'int(11)', false, null],
      ['userId', U11, false, null],
      ['peerId', U11, false, null],
      ['type', 'tinyint(1) unsigned', true, '0'],
      ['status', 'tinyint(1) unsigned', true, '0'],
      ['created', U11, false, '0'],
      ['updated', U11, false, '0'],
    ],
    keys: {
      PRIMARY: ['id'],
      idx_userId_peerId_status_updated: ['userId', 'peerId', 'status', 'updated'],
      idx_userId_peerId_type: ['userId', 'peerId', 'type'],
      // TierTalk's (migration 0007): one row per session, written by upsert.
      uk_userId_peerId_type: ['userId', 'peerId', 'type'],
    },
  },
  IMRelationShip: {
    collation: utf8,
    cols: [
      ['id', 'int(11)', false, null],
      ['smallId', U11, false, null],
      ['bigId', U11, false, null],
      ['status', 'tinyint(1) unsigned', true, '0'],
      ['created', U11, false, '0'],
      ['updated', U11, false, '0'],
    ],
    keys: { PRIMARY: ['id'], idx_smallId_bigId_status_updated: ['smallId', 'bigId', 'status', 'updated'] },
  },
  IMUser: {
    collation: utf8mb4,
    cols: [
      ['id', U11, false, null],
      ['sex', 'tinyint(1) unsigned', false, '0'],
      ['name', 'varchar(32)', false, "''"],
      ['domain', 'varchar(32)', false, "''"],
      ['nick', 'varchar(32)', false, "''"],
      ['password', 'varchar(32)', false, "''"],
      ['salt', 'varchar(4)', false, "''"],
      ['phone', 'varchar(11)', false, "''"],
      ['email', 'varchar(64)', false, "''"],
      ['avatar', 'varchar(255)', true, "''"],
      ['departId', U11, false, null],
      ['status', 'tinyint(2) unsigned', true, '0'],
      ['created', U11, false, null],
      ['updated', U11, false, null],
      ['push_shield_status', 'tinyint(1) unsigned', false, '0'],
      ['sign_info', 'varchar(128)', false, "''"],
    ],
    keys: { PRIMARY: ['id'], idx_domain: ['domain'], idx_name: ['name'], idx_phone: ['phone'] },
  },
  IMTransmitFile: {
    collation: utf8mb4,
    cols: [
      ['id', 'int(11)', false, null],
      ['fromId', U11, false, null],
      ['toId', U11, false, null],
      ['fileName', 'varchar(255)', false, "''"],
      ['size', U11, false, '0'],
      ['taskId', 'varchar(128)', false, "''"],
      ['status', 'tinyint(1) unsigned', false, '0'],
      ['created', U11, false, '0'],
      ['updated', U11, false, '0'],
    ],
    keys: {
      PRIMARY: ['id'],
      idx_toId_status_created: ['toId', 'status', 'created'],
      idx_fromId_toId_taskId: ['fromId', 'toId', 'taskId'],
    },
  },
  // TierTalk's own: audio bytes, since there is no msfs (migration 0003).
  IMAudioData: {
    collation: utf8mb4,
    cols: [
      ['audioId', 'int(11)', false, null],
      ['data', 'mediumblob', false, null],
    ],
    keys: { PRIMARY: ['audioId'] },
  },
  // TierTalk's own: group admins and mutes (migration 0004).
  IMGroupAdmin: {
    collation: utf8mb4,
    cols: [
      ['groupId', U11, false, null],
      ['userId', U11, false, null],
      ['role', 'tinyint(3) unsigned', false, '0'],
      ['muteUntil', U11, false, '0'],
      ['updated', U11, false, '0'],
    ],
    keys: { PRIMARY: ['groupId', 'userId'] },
  },
  // TierTalk's own: idempotency keys of stored messages (migration 0005).
  IMMsgIdempotency: {
    collation: utf8mb4,
    cols: [
      ['id', 'bigint(20) unsigned', false, null],
      ['fromId', U11, false, null],
      ['idemKey', 'varchar(128)', false, null],
      ['sessionType', 'tinyint(3) unsigned', false, null],
      ['toId', U11, false, null],
      ['msgId', U11, false, null],
      ['created', U11, false, null],
    ],
    keys: { PRIMARY: ['id'], uk_fromId_idemKey: ['fromId', 'idemKey'], idx_created: ['created'] },
  },
  // TierTalk's own: counter deltas of committed messages not yet applied to Redis (migration 0008).
  IMCounterOutbox: {
    collation: utf8mb4,
    cols: [
      ['id', 'char(32)', false, null],
      ['deltas', 'mediumtext', false, null],
      ['created', U11, false, null],
    ],
    keys: { PRIMARY: ['id'], idx_created: ['created'] },
  },
  // TierTalk's own: durable read positions, the source of unread counters rebuilt after a Redis loss (migration 0009).
  IMReadCursor: {
    collation: utf8mb4,
    cols: [
      ['id', U11, false, null],
      ['userId', U11, false, null],
      ['peerId', U11, false, null],
      ['sessionType', 'tinyint(3) unsigned', false, null],
      ['msgId', U11, false, null],
      ['updated', U11, false, null],
    ],
    keys: { PRIMARY: ['id'], uk_userId_peerId_sessionType: ['userId', 'peerId', 'sessionType'] },
  },
  // TierTalk's own: argon2id password hashes beside IMUser.password (migration 0010).
  IMUserPasswordHash: {
    collation: utf8mb4,
    cols: [
      ['userId', U11, false, null],
      ['hash', 'varchar(255)', false, null],
      ['legacyPassword', 'varchar(32)', false, null],
      ['legacySalt', 'varchar(4)', false, null],
      ['updated', U11, false, null],
    ],
    keys: { PRIMARY: ['userId'] },
  },
  tt_schema_migrations: {
    collation: utf8mb4,
    cols: [
      ['version', 'varchar(64)', false, null],
      ['applied_at', U11, false, null],
    ],
    keys: { PRIMARY: ['version'] },
  },
};
for (let n = 0; n < 8; n++) {
  EXPECTED[`IMMessage_${n}`] = messageShard();
  EXPECTED[`IMGroupMessage_${n}`] = groupMessageShard();
}

interface ColumnRow extends RowDataPacket {
  TABLE_NAME: string;
  COLUMN_NAME: string;
  COLUMN_TYPE: string;
  IS_NULLABLE: 'YES' | 'NO';
  COLUMN_DEFAULT: string | null;
  COLLATION_NAME: string | null;
  EXTRA: string;
}
interface IndexRow extends RowDataPacket {
  TABLE_NAME: string;
  INDEX_NAME: string;
  COLUMN_NAME: string;
  SUB_PART: number | null;
}
interface TableRow extends RowDataPacket {
  TABLE_NAME: string;
  TABLE_COLLATION: string;
  ENGINE: string;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

async function throwawayDb(): Promise<{ name: string; conn: Connection }> {
  const name = `tt_migrate_test_${randomBytes(5).toString('hex')}`;
  await ensureDatabase(ROOT_URL, name);
  const conn = await createConnection(`${ROOT_URL}/${name}`);
  return { name, conn };
}

async function dropDb(name: string, conn: Connection): Promise<void> {
  await conn.query(`DROP DATABASE IF EXISTS ${conn.escapeId(name)}`);
  await conn.end();
}

async function showCreateAll(conn: Connection): Promise<string[]> {
  const [tables] = await conn.query<RowDataPacket[]>('SHOW TABLES');
  const out: string[] = [];
  for (const row of tables) {
    const table = String(Object.values(row)[0]);
    const [create] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${conn.escapeId(table)}`);
    // AUTO_INCREMENT counters move with data, not with schema.
    out.push(String(create[0]?.['Create Table']).replace(/ AUTO_INCREMENT=\d+/, ''));
  }
  return out.sort();
}

describe('runMigrations on an empty database', () => {
  let db: { name: string; conn: Connection };
  let applied: string[];
  const logged: string[] = [];

  // Migrated once here so every test below can also run alone (jest -t).
  beforeAll(async () => {
    db = await throwawayDb();
    applied = await runMigrations(db.conn, MIGRATIONS_DIR, { info: (m) => logged.push(m) });
  });
  afterAll(async () => {
    await dropDb(db.name, db.conn);
  });

  it('applies every migration in order and records it', async () => {
    expect(applied).toEqual(ALL_VERSIONS);
    expect(logged).toHaveLength(ALL_VERSIONS.length);
    const [rows] = await db.conn.query<RowDataPacket[]>('SELECT version FROM tt_schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(ALL_VERSIONS);
  });

  it("creates exactly TeamTalk's tables with their columns, charsets and index names", async () => {
    const [tables] = await db.conn.query<TableRow[]>(
      'SELECT TABLE_NAME, TABLE_COLLATION, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
      [db.name],
    );
    expect(tables.map((t) => t.TABLE_NAME).sort()).toEqual(Object.keys(EXPECTED).sort());

    const [cols] = await db.conn.query<ColumnRow[]>(
      'SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, COLLATION_NAME, EXTRA ' +
        'FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION',
      [db.name],
    );
    const [idx] = await db.conn.query<IndexRow[]>(
      'SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS ' +
        'WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX',
      [db.name],
    );

    for (const t of [...tables].sort((a, b) => a.TABLE_NAME.localeCompare(b.TABLE_NAME))) {
      const spec = EXPECTED[t.TABLE_NAME];
      if (!spec) throw new Error(`unexpected table ${t.TABLE_NAME}`);
      expect({ table: t.TABLE_NAME, engine: t.ENGINE, collation: t.TABLE_COLLATION }).toEqual({
        table: t.TABLE_NAME,
        engine: 'InnoDB',
        collation: spec.collation,
      });

      const mine = cols.filter((c) => c.TABLE_NAME === t.TABLE_NAME);
      expect({ table: t.TABLE_NAME, cols: mine.map((c): Col => [c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE === 'YES', c.COLUMN_DEFAULT]) })
        .toEqual({ table: t.TABLE_NAME, cols: spec.cols });
      // Text columns inherit the table's collation (utf8mb4_bin content, utf8 admin names).
      for (const c of mine) {
        if (c.COLLATION_NAME !== null) expect(`${t.TABLE_NAME}.${c.COLUMN_NAME} ${c.COLLATION_NAME}`).toBe(`${t.TABLE_NAME}.${c.COLUMN_NAME} ${spec.collation}`);
      }
      const idCol = mine.find((c) => c.COLUMN_NAME === 'id');
      // Integer ids count up (TeamTalk's); IMCounterOutbox's id is a random key chosen by db-proxy.
      if (idCol && idCol.COLUMN_TYPE.includes('int')) expect(`${t.TABLE_NAME}.id ${idCol.EXTRA}`).toBe(`${t.TABLE_NAME}.id auto_increment`);

      const keys: Record<string, string[]> = {};
      for (const i of idx.filter((r) => r.TABLE_NAME === t.TABLE_NAME)) {
        (keys[i.INDEX_NAME] ??= []).push(i.SUB_PART === null ? i.COLUMN_NAME : `${i.COLUMN_NAME}(${i.SUB_PART})`);
      }
      expect({ table: t.TABLE_NAME, keys }).toEqual({ table: t.TABLE_NAME, keys: spec.keys });
    }
  });

  it("seeds TeamTalk's admin row", async () => {
    const [rows] = await db.conn.query<RowDataPacket[]>('SELECT id, uname, pwd, status FROM IMAdmin');
    expect(rows).toEqual([{ id: 1, uname: 'admin', pwd: md5('admin'), status: 0 }]);
  });

  it('applies nothing and changes nothing when run again', async () => {
    const before = await showCreateAll(db.conn);
    expect(await runMigrations(db.conn, MIGRATIONS_DIR, quiet)).toEqual([]);
    expect(await showCreateAll(db.conn)).toEqual(before);
    const [admins] = await db.conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMAdmin');
    expect(admins[0]?.n).toBe(1);
  });

  it('serialises concurrent runs (one applies, the other finds nothing to do)', async () => {
    const other = await throwawayDb();
    const second = await createConnection(`${ROOT_URL}/${other.name}`);
    try {
      const results = await Promise.all([
        runMigrations(other.conn, MIGRATIONS_DIR, quiet),
        runMigrations(second, MIGRATIONS_DIR, quiet),
      ]);
      expect(results.flat().sort()).toEqual(ALL_VERSIONS);
    } finally {
      await second.end();
      await dropDb(other.name, other.conn);
    }
  });
});

/** SHOW CREATE TABLE text without the unique keys TierTalk's migrations add to TeamTalk's tables. */
function withoutTierTalkKeys(create: string): string {
  return create.replace(/,\n\s*UNIQUE KEY `uk_[A-Za-z_]+` \([^)]*\)/g, '');
}

describe('runMigrations on an existing TeamTalk database', () => {
  it('stops at a shard whose duplicate rows prevent the unique key, naming the table', async () => {
    const db = await throwawayDb();
    try {
      const sql = await readFile(path.join(MIGRATIONS_DIR, '0001_teamtalk_schema.sql'), 'utf8');
      for (const stmt of splitStatements(sql)) await db.conn.query(stmt);
      // TeamTalk could store one id twice in a conversation (a counter re-seeded low).
      await db.conn.query("INSERT INTO IMMessage_3 (relateId, fromId, toId, msgId, content, updated, created) VALUES (11, 1, 2, 5, 'a', 1, 1), (11, 2, 1, 5, 'b', 1, 1)");
      await expect(runMigrations(db.conn, MIGRATIONS_DIR, quiet)).rejects.toThrow(
        /0006_message_id_unique: statement 4 failed: table IMMessage_3 has duplicate rows for the new unique key/,
      );
      await db.conn.query("DELETE FROM IMMessage_3 WHERE content = 'b'");
      expect(await runMigrations(db.conn, MIGRATIONS_DIR, quiet)).toEqual(ALL_VERSIONS.filter((v) => v >= '0006'));
    } finally {
      await dropDb(db.name, db.conn);
    }
  });

  it('records the migrations but leaves tables and rows untouched, adding only the system sender row', async () => {
    const db = await throwawayDb();
    try {
      // Simulate a database built by ttopen.sql: same tables, no tt_schema_migrations.
      const sql = await readFile(path.join(MIGRATIONS_DIR, '0001_teamtalk_schema.sql'), 'utf8');
      for (const stmt of splitStatements(sql)) await db.conn.query(stmt);
      await db.conn.query("UPDATE IMAdmin SET pwd = 'changed-by-operator' WHERE id = 1");
      await db.conn.query(
        "INSERT INTO IMUser (name, departId, created, updated, password, salt) VALUES ('legacy', 7, 1, 1, 'p', 'salt')",
      );
      // Two writers once stored one session twice; the newest row must be the one kept.
      await db.conn.query(
        'INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES (1, 2, 1, 0, 5, 50), (1, 2, 1, 1, 5, 70), (1, 2, 1, 0, 5, 60), (1, 2, 2, 0, 5, 10), (2, 1, 1, 0, 5, 50)',
      );
      const before = await showCreateAll(db.conn);

      expect(await runMigrations(db.conn, MIGRATIONS_DIR, quiet)).toEqual(ALL_VERSIONS);
      const [sessions] = await db.conn.query<RowDataPacket[]>('SELECT userId, peerId, type, status, updated FROM IMRecentSession ORDER BY userId, type');
      expect(sessions).toEqual([
        { userId: 1, peerId: 2, type: 1, status: 1, updated: 70 },
        { userId: 1, peerId: 2, type: 2, status: 0, updated: 10 },
        { userId: 2, peerId: 1, type: 1, status: 0, updated: 50 },
      ]);

      const after = (await showCreateAll(db.conn)).filter((s) => !/`(tt_schema_migrations|IMTransmitFile|IMAudioData|IMGroupAdmin|IMMsgIdempotency|IMCounterOutbox|IMReadCursor|IMUserPasswordHash)`/.test(s));
      // TeamTalk's tables gain only TierTalk's unique keys; columns and TeamTalk's keys stay.
      expect(after.map(withoutTierTalkKeys)).toEqual(before);
      const [admin] = await db.conn.query<RowDataPacket[]>('SELECT pwd FROM IMAdmin WHERE id = 1');
      expect(admin[0]?.pwd).toBe('changed-by-operator');
      const [users] = await db.conn.query<RowDataPacket[]>('SELECT name, departId FROM IMUser ORDER BY id');
      // The one row TierTalk adds: the send API's system sender (0011), in department 1 when none is in use.
      expect(users).toEqual([{ name: 'legacy', departId: 7 }, { name: 'system', departId: 1 }]);
    } finally {
      await dropDb(db.name, db.conn);
    }
  });
});

describe('seedDemo', () => {
  let db: { name: string; conn: Connection };

  beforeAll(async () => {
    db = await throwawayDb();
    await runMigrations(db.conn, MIGRATIONS_DIR, quiet);
  });
  afterAll(async () => {
    await dropDb(db.name, db.conn);
  });

  it('creates the Demo department and four users whose password is md5(md5("tiertalk") + salt)', async () => {
    const res = await seedDemo(db.conn);
    expect(res.created).toEqual(['alice', 'bob', 'carol', 'dave']);

    const [depts] = await db.conn.query<RowDataPacket[]>("SELECT id, parentId, status FROM IMDepart WHERE departName = 'Demo'");
    expect(depts).toEqual([{ id: res.departId, parentId: 0, status: 0 }]);

    const [users] = await db.conn.query<RowDataPacket[]>(
      // Migration 0011's system sender is not a demo user.
      "SELECT name, nick, password, salt, departId, status, email, created, updated FROM IMUser WHERE name <> 'system' ORDER BY id",
    );
    expect(users.map((u) => u.name)).toEqual(['alice', 'bob', 'carol', 'dave']);
    const now = Math.floor(Date.now() / 1000);
    for (const u of users) {
      expect(u.salt).toMatch(/^[A-Za-z0-9]{4}$/);
      expect(u.password).toBe(md5(md5('tiertalk') + String(u.salt)));
      expect(u.departId).toBe(res.departId);
      expect(u.status).toBe(0);
      expect(u.email).toBe(`${String(u.name)}@tiertalk.local`);
      expect(u.nick).toBe(String(u.name).charAt(0).toUpperCase() + String(u.name).slice(1));
      expect(Math.abs(Number(u.created) - now)).toBeLessThan(60);
      expect(u.updated).toBe(u.created);
    }
    // The same check in SQL, as a login query would compute it.
    const [bad] = await db.conn.query<RowDataPacket[]>(
      "SELECT name FROM IMUser WHERE name <> 'system' AND password <> MD5(CONCAT(MD5('tiertalk'), salt))",
    );
    expect(bad).toEqual([]);
  });

  it('adds only missing users when run again', async () => {
    await db.conn.query("DELETE FROM IMUser WHERE name = 'carol'");
    const [beforeRows] = await db.conn.query<RowDataPacket[]>("SELECT password FROM IMUser WHERE name = 'alice'");

    const res = await seedDemo(db.conn);
    expect(res.created).toEqual(['carol']);
    expect((await seedDemo(db.conn)).created).toEqual([]);

    const [counts] = await db.conn.query<RowDataPacket[]>("SELECT name, COUNT(*) AS n FROM IMUser WHERE name <> 'system' GROUP BY name ORDER BY name");
    expect(counts).toEqual([
      { name: 'alice', n: 1 },
      { name: 'bob', n: 1 },
      { name: 'carol', n: 1 },
      { name: 'dave', n: 1 },
    ]);
    const [depts] = await db.conn.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM IMDepart WHERE departName = 'Demo'");
    expect(depts[0]?.n).toBe(1);
    const [afterRows] = await db.conn.query<RowDataPacket[]>("SELECT password FROM IMUser WHERE name = 'alice'");
    expect(afterRows).toEqual(beforeRows);
  });
});

describe('helpers', () => {
  it('splitStatements ends a statement only at a line-final semicolon and drops comment lines', () => {
    const sql = "-- c1; not a statement\nCREATE TABLE a (x varchar(3) DEFAULT ';');\n# c2\nINSERT INTO a\nVALUES ('b');\n\nSELECT 1";
    expect(splitStatements(sql)).toEqual(["CREATE TABLE a (x varchar(3) DEFAULT ';')", "INSERT INTO a\nVALUES ('b')", 'SELECT 1']);
  });

  it('splitDatabaseUrl separates server and database', () => {
    expect(splitDatabaseUrl('mysql://root@127.0.0.1:3306/teamtalk')).toEqual({
      serverUrl: 'mysql://root@127.0.0.1:3306',
      database: 'teamtalk',
    });
    expect(splitDatabaseUrl('mysql://u:p@db:3306/tt?charset=utf8mb4')).toEqual({
      serverUrl: 'mysql://u:p@db:3306?charset=utf8mb4',
      database: 'tt',
    });
    expect(() => splitDatabaseUrl('redis://x/1')).toThrow(/mysql:\/\//);
  });

  it('ensureDatabase is idempotent and refuses odd names', async () => {
    const name = `tt_migrate_test_${randomBytes(5).toString('hex')}`;
    await ensureDatabase(ROOT_URL, name);
    await ensureDatabase(ROOT_URL, name);
    const conn = await createConnection(ROOT_URL);
    try {
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT DEFAULT_CHARACTER_SET_NAME AS cs FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [name],
      );
      expect(rows).toEqual([{ cs: 'utf8mb4' }]);
    } finally {
      await conn.query(`DROP DATABASE IF EXISTS ${conn.escapeId(name)}`);
      await conn.end();
    }
    await expect(ensureDatabase(ROOT_URL, 'x`; DROP DATABASE mysql')).rejects.toThrow(/invalid database name/);
  });
});
