import { randomBytes, randomInt } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { nowSec, tiertalk } from '@tiertalk/proto';
import { unaryHandler } from '@tiertalk/rpc';
import type { DomainDeps } from '../../domain-deps';
import {
  AdminDirectory,
  AdminRefusal,
  USER_STATUS_ACTIVE,
  USER_STATUS_DISABLED,
  type AdminDepartRow,
  type AdminUserRow,
  type PasswordRecord,
} from '../../store/admin-directory';
import { classifyStoreError, refusalLogOf } from '../../unary';
import type { PasswordHasher } from '../login/password-hasher';
import * as input from './admin-input';

const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function toAdminUser(r: AdminUserRow): tiertalk.AdminUser {
  return tiertalk.AdminUser.create({
    userId: r.id,
    name: r.name,
    nick: r.nick,
    sex: r.sex,
    departId: r.departId,
    status: r.status,
    email: r.email,
    phone: r.phone,
    avatar: r.avatar ?? '',
    domain: r.domain,
    created: r.created,
    updated: r.updated,
    argon2: Number(r.argon2) === 1,
  });
}

function toAdminDepart(r: AdminDepartRow): tiertalk.AdminDepart {
  return tiertalk.AdminDepart.create({
    departId: r.id,
    name: r.departName,
    parentId: r.parentId,
    priority: r.priority,
    status: r.status,
    created: r.created,
    updated: r.updated,
    users: Number(r.users),
  });
}

/**
 * A DbAdmin method through the rpc adapter: refusals (AdminRefusal) answer
 * their catalogue code and are counted; a full MySQL pool answers db_busy;
 * anything else is logged and answered internal. The request is never logged
 * (it may carry a password hash).
 */
function adminUnary<Req, Res>(name: string, log: Logger, fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  const refusals = refusalLogOf(log);
  return unaryHandler<Req, Res>(
    {
      name,
      log,
      classify: classifyStoreError(name),
      onRefused: (err) => {
        if (err instanceof AdminRefusal) refusals.refuse(`admin_${err.kind}`, 'admin', { method: name, detail: err.message });
      },
    },
    (req) => fn(req),
  );
}

/**
 * db-proxy's DbAdmin service: the operator's user and department changes
 * (services/admin calls it with the `admin` certificate; access-policy.ts).
 * Input is checked before any query; each change is one transaction.
 */
export function adminRpc(deps: Pick<DomainDeps, 'mysql' | 'log'>, hasher: PasswordHasher): grpc.UntypedServiceImplementation {
  const directory = new AdminDirectory(deps.mysql.master);
  const log = deps.log.child({ service: 'DbAdmin' });

  // The argon2id hash of what a TeamTalk client sends (md5hex), plus an IMUser.password no password matches.
  const passwordRecord = async (md5: string): Promise<PasswordRecord> => {
    let salt = '';
    for (let i = 0; i < 4; i++) salt += SALT_CHARS[randomInt(SALT_CHARS.length)];
    return { hash: await hasher.hash(md5), unusableLegacy: { password: randomBytes(16).toString('hex'), salt } };
  };

  return {
    UserCreate: adminUnary('UserCreate', log, async (req: tiertalk.AdminUserCreateReq) => {
      const user = input.newUser(req);
      const md5 = input.passwordMd5(req.passwordMd5);
      const row = await directory.createUser(user, await passwordRecord(md5), nowSec());
      log.info({ userId: row.id, name: row.name, departId: row.departId }, 'user created');
      return toAdminUser(row);
    }),
    UserGet: adminUnary('UserGet', log, async (req: tiertalk.AdminUserRef) => toAdminUser(await directory.getUser(input.userRef(req)))),
    UserList: adminUnary('UserList', log, async (req: tiertalk.AdminUserListReq) => {
      const departId = req.departId ? input.departId(req.departId) : 0;
      const rows = await directory.listUsers(departId, req.includeDisabled === true);
      return tiertalk.AdminUserList.create({ users: rows.map(toAdminUser) });
    }),
    UserSetPassword: adminUnary('UserSetPassword', log, async (req: tiertalk.AdminSetPasswordReq) => {
      const ref = input.userRef(req.user);
      const md5 = input.passwordMd5(req.passwordMd5);
      // Fail fast on an unknown user before paying for the hash.
      await directory.getUser(ref);
      const row = await directory.setPassword(ref, await passwordRecord(md5), nowSec());
      log.info({ userId: row.id }, 'password set (argon2id)');
      return toAdminUser(row);
    }),
    UserSetStatus: adminUnary('UserSetStatus', log, async (req: tiertalk.AdminSetStatusReq) => {
      const row = await directory.setStatus(input.userRef(req.user), req.disabled ? USER_STATUS_DISABLED : USER_STATUS_ACTIVE, nowSec());
      log.info({ userId: row.id, status: row.status }, req.disabled ? 'user disabled' : 'user enabled');
      return toAdminUser(row);
    }),
    UserMove: adminUnary('UserMove', log, async (req: tiertalk.AdminMoveUserReq) => {
      const ref = input.userRef(req.user);
      const row = await directory.moveUser(ref, input.departId(req.departId), nowSec());
      log.info({ userId: row.id, departId: row.departId }, 'user moved');
      return toAdminUser(row);
    }),
    DepartCreate: adminUnary('DepartCreate', log, async (req: tiertalk.AdminDepartCreateReq) => {
      const row = await directory.createDepart(input.departName(req.name), input.parentId(req.parentId), input.priority(req.priority), nowSec());
      log.info({ departId: row.id, name: row.departName }, 'department created');
      return toAdminDepart(row);
    }),
    DepartRename: adminUnary('DepartRename', log, async (req: tiertalk.AdminDepartRenameReq) => {
      const row = await directory.renameDepart(input.departId(req.departId), input.departName(req.name), nowSec());
      log.info({ departId: row.id, name: row.departName }, 'department renamed');
      return toAdminDepart(row);
    }),
    DepartList: adminUnary('DepartList', log, async () => tiertalk.AdminDepartList.create({ departs: (await directory.listDeparts()).map(toAdminDepart) })),
  };
}
