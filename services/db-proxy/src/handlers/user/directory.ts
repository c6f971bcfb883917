import type { Logger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import type { DepartmentStore } from '../../store/departments';
import type { UserDirectory } from '../../store/user-directory';
import { toUserInfo } from '../../store/users';
import { refusalLogOf } from '../../unary';

/** IMUsersInfoReq asks for at most this many distinct ids; the rest are left out (logged). */
export const USERS_INFO_MAX_IDS = 1000;

const { DepartmentStatusType } = IM.BaseDefine;

/** docs/FLOWS.md §9: user info by ids, the (incremental) user directory, departments. */
export class DirectoryHandlers {
  constructor(
    private readonly users: UserDirectory,
    private readonly departs: DepartmentStore,
    private readonly log: Logger,
  ) {}

  /** 0x0204 → 0x0205: IMUser rows for the ids; unknown ids are skipped, as TeamTalk's `id in (...)`. */
  async usersInfo(req: IM.Buddy.IMUsersInfoReq): Promise<IM.Buddy.IMUsersInfoRsp> {
    const ids = [...new Set(req.userIdList.filter((id) => id > 0))];
    // The answer must fit one client frame (~150 bytes a user): the first ids are answered, the cut is counted.
    if (ids.length > USERS_INFO_MAX_IDS) {
      refusalLogOf(this.log).refuse('user_info_list_capped', `user ${req.userId}`, { asked: ids.length, max: USERS_INFO_MAX_IDS });
      ids.length = USERS_INFO_MAX_IDS;
    }
    const rows = await this.users.findByIds(ids);
    return IM.Buddy.IMUsersInfoRsp.create({
      userId: req.userId,
      userInfoList: rows.map((row) => toUserInfo(row, { forceStatusZero: false })),
    });
  }

  /**
   * 0x0208 → 0x0209. The high-water mark is the largest `updated` returned, or
   * the request's value when nothing changed. TeamTalk also compared with an
   * in-memory "last user update" (docs/STORAGE.md §2 total_user_updated quirk);
   * reading MySQL alone gives what clients observe: incremental sync works.
   */
  async allUsers(req: IM.Buddy.IMAllUserReq): Promise<IM.Buddy.IMAllUserRsp> {
    const since = req.latestUpdateTime;
    const rows = await this.users.changedSince(since);
    let latest = since;
    for (const row of rows) if (Number(row.updated) > latest) latest = Number(row.updated);
    return IM.Buddy.IMAllUserRsp.create({
      userId: req.userId,
      latestUpdateTime: latest,
      userList: rows.map((row) => toUserInfo(row, { forceStatusZero: false })),
    });
  }

  /** 0x0210 → 0x0211: departments with `updated > t`; rows with an unknown status are skipped, as TeamTalk does. */
  async departments(req: IM.Buddy.IMDepartmentReq): Promise<IM.Buddy.IMDepartmentRsp> {
    const since = req.latestUpdateTime;
    const rows = await this.departs.changedSince(since);
    let latest = since;
    const deptList: IM.BaseDefine.DepartInfo.$Properties[] = [];
    for (const row of rows) {
      if (Number(row.updated) > latest) latest = Number(row.updated);
      const status = Number(row.status);
      if (status !== DepartmentStatusType.DEPT_STATUS_OK && status !== DepartmentStatusType.DEPT_STATUS_DELETE) {
        this.log.warn({ deptId: row.id, status }, 'department with an unknown status skipped');
        continue;
      }
      deptList.push({
        deptId: row.id,
        priority: Number(row.priority),
        deptName: row.departName ?? '',
        parentDeptId: Number(row.parentId),
        deptStatus: status,
      });
    }
    return IM.Buddy.IMDepartmentRsp.create({ userId: req.userId, latestUpdateTime: latest, deptList });
  }
}
