// db-proxy's user directory and profile handlers (docs/FLOWS.md §9, docs/FLOWS.md §14 U1–U6)
// against a real TeamTalk schema in MariaDB.
import type { RowDataPacket } from 'mysql2/promise';
import { IM } from '@tiertalk/proto';
import { refusalCount } from '@tiertalk/metrics';
import { DirectoryHandlers, USERS_INFO_MAX_IDS } from '../src/handlers/user/directory';
import { PROFILE_FAILED, PROFILE_OK, ProfileHandlers } from '../src/handlers/user/profile';
import { DepartmentStore } from '../src/store/departments';
import { UserDirectory } from '../src/store/user-directory';
import { DirectoryFixture, openDirectoryFixture, silentLog } from './directory-fixture';

let fx: DirectoryFixture;
let directory: DirectoryHandlers;
let profile: ProfileHandlers;

const HOSTILE = [
  "x'; DROP TABLE IMUser; --",
  "' OR '1'='1",
  'Robert"); DELETE FROM IMUser WHERE ("1"="1',
  'nul\u0000byte \\ back\\slash',
  '<script>alert(1)</script> 😀 签名',
];

async function userRow(id: number): Promise<RowDataPacket> {
  const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT * FROM IMUser WHERE id = ?', [id]);
  return rows[0];
}

async function userCount(): Promise<number> {
  const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMUser');
  return Number(rows[0].n);
}

beforeAll(async () => {
  fx = await openDirectoryFixture('a_tt_dbproxy_directory_test_b');
  const users = new UserDirectory(fx.pool, fx.pool);
  directory = new DirectoryHandlers(users, new DepartmentStore(fx.pool), silentLog);
  profile = new ProfileHandlers(users, silentLog);
  // A known directory state: every user last changed at t=1000.
  await fx.pool.query('UPDATE IMUser SET updated = 1000');
  await fx.pool.query('UPDATE IMDepart SET updated = 1000');
});
afterAll(async () => {
  await fx.close();
});

describe('UsersInfo (U1)', () => {
  it('returns the profiles of known ids and skips unknown ones', async () => {
    const { alice, bob } = fx.ids;
    const rsp = await directory.usersInfo(IM.Buddy.IMUsersInfoReq.create({ userId: alice, userIdList: [bob, 999999, alice, bob] }));
    expect(rsp.userId).toBe(alice);
    expect(rsp.userInfoList.map((u) => u.userId).sort((a, b) => a - b)).toEqual([alice, bob].sort((a, b) => a - b));
    const bobInfo = rsp.userInfoList.find((u) => u.userId === bob);
    expect(bobInfo).toMatchObject({ userNickName: 'Bob', userRealName: 'bob', userGender: 1, email: 'bob@tiertalk.local', status: 0 });
    // the wire form keeps every required field
    const decoded = IM.Buddy.IMUsersInfoRsp.decode(IM.Buddy.IMUsersInfoRsp.encode(rsp).finish());
    expect(decoded.userInfoList).toHaveLength(2);
  });

  it('answers an empty list with no users, and caps a huge one', async () => {
    expect((await directory.usersInfo(IM.Buddy.IMUsersInfoReq.create({ userId: fx.ids.alice, userIdList: [] }))).userInfoList).toEqual([]);
    const many = Array.from({ length: USERS_INFO_MAX_IDS + 500 }, (_, i) => i + 1);
    const capped = await refusalCount('user_info_list_capped');
    const rsp = await directory.usersInfo(IM.Buddy.IMUsersInfoReq.create({ userId: fx.ids.alice, userIdList: many }));
    // The four demo users and migration 0011's system sender, all among ids 1..5.
    expect(rsp.userInfoList.length).toBe(5);
    expect(await refusalCount('user_info_list_capped')).toBe(capped + 1);
  });
});

describe('AllUsers (U2, U3)', () => {
  it('full list (t = 0): every user except those who left, with the high-water mark', async () => {
    await fx.pool.query('UPDATE IMUser SET status = 3, updated = 1500 WHERE id = ?', [fx.ids.dave]);
    const rsp = await directory.allUsers(IM.Buddy.IMAllUserReq.create({ userId: fx.ids.alice, latestUpdateTime: 0 }));
    const ids = rsp.userList.map((u) => u.userId);
    expect(ids).toEqual(expect.arrayContaining([fx.ids.alice, fx.ids.bob, fx.ids.carol]));
    expect(ids).not.toContain(fx.ids.dave);
    expect(rsp.latestUpdateTime).toBe(1000);
  });

  it('incremental: users changed since t (updated >= t), departed ones included; nothing changed → t back', async () => {
    await fx.pool.query('UPDATE IMUser SET updated = 2000 WHERE id = ?', [fx.ids.bob]);
    const rsp = await directory.allUsers(IM.Buddy.IMAllUserReq.create({ userId: fx.ids.alice, latestUpdateTime: 1001 }));
    const byId = new Map(rsp.userList.map((u) => [u.userId, u]));
    expect([...byId.keys()].sort()).toEqual([fx.ids.bob, fx.ids.dave].sort());
    expect(byId.get(fx.ids.dave)?.status).toBe(3);
    expect(rsp.latestUpdateTime).toBe(2000);

    const none = await directory.allUsers(IM.Buddy.IMAllUserReq.create({ userId: fx.ids.alice, latestUpdateTime: 2001 }));
    expect(none.userList).toEqual([]);
    expect(none.latestUpdateTime).toBe(2001);
  });

  it('sees a sign-info change in the next incremental sync', async () => {
    const before = Math.floor(Date.now() / 1000);
    await profile.changeSignInfo(IM.Buddy.IMChangeSignInfoReq.create({ userId: fx.ids.carol, signInfo: 'on leave' }));
    const rsp = await directory.allUsers(IM.Buddy.IMAllUserReq.create({ userId: fx.ids.alice, latestUpdateTime: before }));
    expect(rsp.userList.map((u) => u.userId)).toEqual([fx.ids.carol]);
    expect(rsp.userList[0].signInfo).toBe('on leave');
    expect(rsp.latestUpdateTime).toBeGreaterThanOrEqual(before);
  });
});

describe('Departments (U4)', () => {
  it('returns departments with updated > t and the high-water mark', async () => {
    await fx.pool.query(
      "INSERT INTO IMDepart (departName, priority, parentId, status, created, updated) VALUES ('Sales', 2, 1, 0, 3000, 3000), ('Gone', 3, 1, 1, 3100, 3100), ('Weird', 1, 0, 7, 3200, 3200)",
    );
    const all = await directory.departments(IM.Buddy.IMDepartmentReq.create({ userId: fx.ids.alice, latestUpdateTime: 0 }));
    expect(all.deptList.map((d) => d.deptName)).toEqual(['Demo', 'Sales', 'Gone']);
    expect(all.latestUpdateTime).toBe(3200);
    const since = await directory.departments(IM.Buddy.IMDepartmentReq.create({ userId: fx.ids.alice, latestUpdateTime: 3000 }));
    expect(since.deptList).toEqual([
      expect.objectContaining({ deptName: 'Gone', priority: 3, parentDeptId: 1, deptStatus: IM.BaseDefine.DepartmentStatusType.DEPT_STATUS_DELETE }),
    ]);
    const none = await directory.departments(IM.Buddy.IMDepartmentReq.create({ userId: fx.ids.alice, latestUpdateTime: 5000 }));
    expect(none).toMatchObject({ deptList: [], latestUpdateTime: 5000 });
  });
});

describe('ChangeSignInfo (U5)', () => {
  it('stores the signature, bumps updated and echoes it', async () => {
    const before = Math.floor(Date.now() / 1000);
    const rsp = await profile.changeSignInfo(IM.Buddy.IMChangeSignInfoReq.create({ userId: fx.ids.alice, signInfo: '你好 world' }));
    expect(rsp).toMatchObject({ userId: fx.ids.alice, resultCode: PROFILE_OK, signInfo: '你好 world' });
    const row = await userRow(fx.ids.alice);
    expect(row.sign_info).toBe('你好 world');
    expect(Number(row.updated)).toBeGreaterThanOrEqual(before);
    // the same value again still succeeds
    expect((await profile.changeSignInfo(IM.Buddy.IMChangeSignInfoReq.create({ userId: fx.ids.alice, signInfo: '你好 world' }))).resultCode).toBe(PROFILE_OK);
  });

  it('accepts exactly 128 bytes and refuses 129 (multi-byte counted in bytes), changing nothing', async () => {
    const ok = 'a'.repeat(128);
    expect((await profile.changeSignInfo(IM.Buddy.IMChangeSignInfoReq.create({ userId: fx.ids.bob, signInfo: ok }))).resultCode).toBe(PROFILE_OK);
    for (const tooLong of ['a'.repeat(129), '签'.repeat(43)]) {
      const rsp = await profile.changeSignInfo(IM.Buddy.IMChangeSignInfoReq.create({ userId: fx.ids.bob, signInfo: tooLong }));
      expect(rsp.resultCode).toBe(PROFILE_FAILED);
      expect(rsp.signInfo).toBe('');
    }
    expect((await userRow(fx.ids.bob)).sign_info).toBe(ok);
  });

  it('stores hostile strings verbatim and executes nothing', async () => {
    const count = await userCount();
    for (const sign of HOSTILE) {
      expect((await profile.changeSignInfo(IM.Buddy.IMChangeSignInfoReq.create({ userId: fx.ids.carol, signInfo: sign }))).resultCode).toBe(PROFILE_OK);
      expect((await userRow(fx.ids.carol)).sign_info).toBe(sign);
    }
    expect(await userCount()).toBe(count);
    expect((await userRow(fx.ids.alice)).sign_info).toBe('你好 world');
  });

  it('fails for an unknown user', async () => {
    expect((await profile.changeSignInfo(IM.Buddy.IMChangeSignInfoReq.create({ userId: 999999, signInfo: 'x' }))).resultCode).toBe(PROFILE_FAILED);
  });
});

describe('ChangeAvatar (U6)', () => {
  it('stores the URL and bumps updated', async () => {
    await fx.pool.query('UPDATE IMUser SET updated = 1000 WHERE id = ?', [fx.ids.dave]);
    const url = 'https://cdn.example.com/a/dave.png?size=64&v=2';
    const rsp = await profile.changeAvatar(IM.Buddy.IMChangeAvatarReq.create({ userId: fx.ids.dave, avatarUrl: url }));
    expect(rsp).toMatchObject({ userId: fx.ids.dave, resultCode: PROFILE_OK });
    const row = await userRow(fx.ids.dave);
    expect(row.avatar).toBe(url);
    expect(Number(row.updated)).toBeGreaterThan(1000);
  });

  it('refuses a URL longer than 255 characters and stores hostile ones verbatim', async () => {
    const rsp = await profile.changeAvatar(IM.Buddy.IMChangeAvatarReq.create({ userId: fx.ids.dave, avatarUrl: `https://x/${'a'.repeat(250)}` }));
    expect(rsp.resultCode).toBe(PROFILE_FAILED);
    expect((await userRow(fx.ids.dave)).avatar).toBe('https://cdn.example.com/a/dave.png?size=64&v=2');
    const count = await userCount();
    for (const url of HOSTILE) {
      expect((await profile.changeAvatar(IM.Buddy.IMChangeAvatarReq.create({ userId: fx.ids.dave, avatarUrl: url }))).resultCode).toBe(PROFILE_OK);
      expect((await userRow(fx.ids.dave)).avatar).toBe(url);
    }
    expect(await userCount()).toBe(count);
  });

  it('fails for an unknown user', async () => {
    expect((await profile.changeAvatar(IM.Buddy.IMChangeAvatarReq.create({ userId: 999999, avatarUrl: 'x' }))).resultCode).toBe(PROFILE_FAILED);
  });
});
