import type * as grpc from '@grpc/grpc-js';
import type { IM } from '@tiertalk/proto';
import type { DomainDeps } from '../../domain-deps';
import { DepartmentStore } from '../../store/departments';
import { UserDirectory } from '../../store/user-directory';
import { unary } from '../../unary';
import { DirectoryHandlers } from './directory';
import { ProfileHandlers } from './profile';

/** This domain's unary DbProxy methods (docs/FLOWS.md §9). */
export function userRpc(deps: DomainDeps): grpc.UntypedServiceImplementation {
  const users = new UserDirectory(deps.mysql.replica, deps.mysql.master);
  const directory = new DirectoryHandlers(users, new DepartmentStore(deps.mysql.replica), deps.log);
  const profile = new ProfileHandlers(users, deps.log);
  return {
    UsersInfo: unary('UsersInfo', deps.log, (req: IM.Buddy.IMUsersInfoReq) => directory.usersInfo(req)),
    AllUsers: unary('AllUsers', deps.log, (req: IM.Buddy.IMAllUserReq) => directory.allUsers(req)),
    Departments: unary('Departments', deps.log, (req: IM.Buddy.IMDepartmentReq) => directory.departments(req)),
    ChangeAvatar: unary('ChangeAvatar', deps.log, (req: IM.Buddy.IMChangeAvatarReq) => profile.changeAvatar(req)),
    ChangeSignInfo: unary('ChangeSignInfo', deps.log, (req: IM.Buddy.IMChangeSignInfoReq) => profile.changeSignInfo(req)),
  };
}
