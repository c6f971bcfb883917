// The operator's user and department administration: db-proxy's DbAdmin
// RPCs (which check and write in one transaction), plus route for what a
// change means to users online (a disabled user's sessions are closed).
import { createHash } from 'node:crypto';
import { DbAdminService, tiertalk } from '@tiertalk/proto';
import { OpsError, type OpsLink, type OpsOutput, toOpsError } from '@tiertalk/cluster-ops';

/** A user named by id (all digits) or by login name. */
export type UserRef = { userId: number } | { name: string };

export interface NewUserInput {
  name: string;
  password: string;
  departId: number;
  nick?: string;
  sex?: number;
  email?: string;
  phone?: string;
  avatar?: string;
  domain?: string;
}

export type UserCommand =
  | { kind: 'user-create'; user: NewUserInput }
  | { kind: 'user-set-password'; user: UserRef; password: string }
  | { kind: 'user-disable' | 'user-enable' | 'user-show'; user: UserRef }
  | { kind: 'user-list'; departId: number; includeDisabled: boolean }
  | { kind: 'dept-create'; name: string; parentId: number; priority: number }
  | { kind: 'dept-rename'; departId: number; name: string }
  | { kind: 'dept-list' }
  | { kind: 'dept-move-user'; user: UserRef; departId: number };

const MAX_UINT32 = 0xffffffff;
// A password is what a person types; anything longer is a mistake (a file of the wrong kind).
export const MAX_PASSWORD_CHARS = 128;
const STATUS_NAMES: Record<number, string> = { 0: 'active', 1: 'probation', 2: 'regular', 3: 'disabled', 4: 'intern' };

export function parseUserRef(raw: string): UserRef {
  const value = raw.trim();
  if (value === '') throw new OpsError('bad_request', 'missing user (an id or a login name)');
  if (/^[0-9]+$/.test(value)) {
    const userId = Number(value);
    if (userId < 1 || userId > MAX_UINT32) throw new OpsError('bad_request', `user id out of range: ${value}`);
    return { userId };
  }
  return { name: value };
}

/** TeamTalk clients send md5hex(password); that is the secret db-proxy stores as argon2id. */
function passwordMd5(password: string): string {
  if (password === '') throw new OpsError('bad_request', 'the password is empty');
  if ([...password].length > MAX_PASSWORD_CHARS) throw new OpsError('bad_request', `the password is longer than ${MAX_PASSWORD_CHARS} characters`);
  return createHash('md5').update(password, 'utf8').digest('hex');
}

function refOf(user: UserRef): tiertalk.AdminUserRef.$Properties {
  return 'userId' in user ? { userId: user.userId } : { name: user.name };
}

/** The account as shown and as JSON; never a password or its hash. */
export function userJson(u: tiertalk.AdminUser.$Properties): Record<string, unknown> {
  return {
    userId: u.userId,
    name: u.name,
    nick: u.nick,
    sex: u.sex,
    departId: u.departId,
    status: u.status,
    state: STATUS_NAMES[u.status] ?? `status ${u.status}`,
    email: u.email,
    phone: u.phone,
    avatar: u.avatar,
    domain: u.domain,
    created: u.created,
    updated: u.updated,
    passwordScheme: u.argon2 ? 'argon2id' : 'teamtalk-md5',
  };
}

function departJson(d: tiertalk.AdminDepart.$Properties): Record<string, unknown> {
  return { departId: d.departId, name: d.name, parentId: d.parentId, priority: d.priority, status: d.status, users: d.users, created: d.created, updated: d.updated };
}

function userLine(u: tiertalk.AdminUser.$Properties): string {
  const nick = u.nick ? ` "${u.nick}"` : '';
  return `user ${u.userId} ${u.name}${nick} department ${u.departId} ${STATUS_NAMES[u.status] ?? `status ${u.status}`}`;
}

function departLine(d: tiertalk.AdminDepart.$Properties): string {
  const parent = d.parentId === 0 ? 'top level' : `parent ${d.parentId}`;
  return `department ${d.departId} "${d.name}" (${parent}, priority ${d.priority}, ${d.users} users${d.status === 0 ? '' : ', deleted'})`;
}

function oneUser(u: tiertalk.AdminUser.$Properties, line: string): OpsOutput {
  return { lines: [line], json: userJson(u) };
}

export async function runUserCommand(link: OpsLink, cmd: UserCommand): Promise<OpsOutput> {
  switch (cmd.kind) {
    case 'user-create': {
      const { password, ...fields } = cmd.user;
      const u = await link.call(DbAdminService.UserCreate, tiertalk.AdminUserCreateReq.create({ ...fields, passwordMd5: passwordMd5(password) }));
      return oneUser(u, `created ${userLine(u)}`);
    }
    case 'user-set-password': {
      const u = await link.call(DbAdminService.UserSetPassword, tiertalk.AdminSetPasswordReq.create({ user: refOf(cmd.user), passwordMd5: passwordMd5(cmd.password) }));
      return oneUser(u, `password of user ${u.userId} ${u.name} set (argon2id); the old one no longer works`);
    }
    case 'user-disable': {
      const u = await link.call(DbAdminService.UserSetStatus, tiertalk.AdminSetStatusReq.create({ user: refOf(cmd.user), disabled: true }));
      // After the status is written: a login from now on is refused, so a kicked client cannot come back.
      let kicked: number;
      try {
        kicked = await link.kickEverywhere(u.userId);
      } catch (err) {
        // The status is written (no new login); only closing what is open failed, and disabling again retries it.
        const why = toOpsError(err);
        throw new OpsError(why.code, `user ${u.userId} ${u.name} is disabled (no new login), but closing its open sessions failed: ${why.message}; run disable again to retry`);
      }
      return { lines: [`disabled ${userLine(u)}; ${kicked} session(s) closed`], json: { ...userJson(u), kicked } };
    }
    case 'user-enable': {
      const u = await link.call(DbAdminService.UserSetStatus, tiertalk.AdminSetStatusReq.create({ user: refOf(cmd.user), disabled: false }));
      return oneUser(u, `enabled ${userLine(u)}`);
    }
    case 'user-show': {
      const u = await link.call(DbAdminService.UserGet, tiertalk.AdminUserRef.create(refOf(cmd.user)));
      const j = userJson(u);
      const lines = [userLine(u), ...Object.entries(j).filter(([k]) => !['userId', 'name', 'nick', 'departId', 'state'].includes(k)).map(([k, v]) => `  ${k}: ${String(v)}`)];
      return { lines, json: j };
    }
    case 'user-list': {
      const res = await link.call(DbAdminService.UserList, tiertalk.AdminUserListReq.create({ departId: cmd.departId, includeDisabled: cmd.includeDisabled }));
      return { lines: res.users.length === 0 ? ['no users'] : res.users.map(userLine), json: res.users.map(userJson) };
    }
    case 'dept-create': {
      const d = await link.call(DbAdminService.DepartCreate, tiertalk.AdminDepartCreateReq.create({ name: cmd.name, parentId: cmd.parentId, priority: cmd.priority }));
      return { lines: [`created ${departLine(d)}`], json: departJson(d) };
    }
    case 'dept-rename': {
      const d = await link.call(DbAdminService.DepartRename, tiertalk.AdminDepartRenameReq.create({ departId: cmd.departId, name: cmd.name }));
      return { lines: [`renamed ${departLine(d)}`], json: departJson(d) };
    }
    case 'dept-list': {
      const res = await link.call(DbAdminService.DepartList, tiertalk.Empty.create());
      return { lines: res.departs.length === 0 ? ['no departments'] : res.departs.map(departLine), json: res.departs.map(departJson) };
    }
    case 'dept-move-user': {
      const u = await link.call(DbAdminService.UserMove, tiertalk.AdminMoveUserReq.create({ user: refOf(cmd.user), departId: cmd.departId }));
      return oneUser(u, `moved ${userLine(u)}`);
    }
  }
}
