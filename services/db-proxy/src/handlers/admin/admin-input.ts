// Checks of the operator's requests (DbAdmin) before anything is read or
// written: lengths are the IMUser / IMDepart column sizes (storage.md §1.1, §1.2).
import type { tiertalk } from '@tiertalk/proto';
import { AdminRefusal, type NewUser, type UserRef } from '../../store/admin-directory';
import { normaliseLoginName } from '../login/login-subjects';

const MD5_HEX = /^[0-9a-f]{32}$/;
const MAX_UINT32 = 0xffffffff;

function invalid(message: string): AdminRefusal {
  return new AdminRefusal('invalid', message);
}

/** A string column: at most `max` characters, no control characters. */
function text(what: string, raw: string | null | undefined, max: number, required = false): string {
  const value = (raw ?? '').trim();
  if (required && value === '') throw invalid(`${what} is required`);
  if ([...value].length > max) throw invalid(`${what} is longer than ${max} characters`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(`${what} contains control characters`);
  return value;
}

function id(what: string, raw: number | null | undefined): number {
  if (raw === null || raw === undefined || !Number.isInteger(raw) || raw < 1 || raw > MAX_UINT32) throw invalid(`${what} must be a positive integer`);
  return raw;
}

export function loginName(raw: string | null | undefined): string {
  const name = normaliseLoginName((raw ?? '').trim());
  if (name === undefined) throw invalid('name must be 1 to 32 characters');
  return text('name', name, 32, true);
}

export function passwordMd5(raw: string | null | undefined): string {
  if (!MD5_HEX.test(raw ?? '')) throw invalid('password_md5 must be 32 lowercase hex digits (md5 of the password)');
  return raw as string;
}

export function userRef(ref: tiertalk.AdminUserRef.$Properties | null | undefined): UserRef {
  const hasId = ref?.userId !== undefined && ref.userId !== null && ref.userId !== 0;
  const hasName = ref?.name !== undefined && ref.name !== null && ref.name !== '';
  if (hasId === hasName) throw invalid('name the user by id or by name (exactly one)');
  return hasId ? { userId: id('user_id', ref?.userId) } : { name: loginName(ref?.name) };
}

export function departId(raw: number | null | undefined): number {
  return id('depart_id', raw);
}

export function newUser(req: tiertalk.AdminUserCreateReq): NewUser {
  const sex = req.sex ?? 0;
  if (![0, 1, 2].includes(sex)) throw invalid('sex must be 0 (unknown), 1 (male) or 2 (female)');
  const phone = text('phone', req.phone, 11);
  if (phone !== '' && !/^[0-9+-]+$/.test(phone)) throw invalid('phone may hold only digits, + and -');
  const email = text('email', req.email, 64);
  if (email !== '' && !/^[^@\s]+@[^@\s]+$/.test(email)) throw invalid('email is not an address');
  return {
    name: loginName(req.name),
    nick: text('nick', req.nick, 32),
    sex,
    departId: departId(req.departId),
    email,
    phone,
    avatar: text('avatar', req.avatar, 255),
    domain: text('domain', req.domain, 32),
  };
}

export function departName(raw: string | null | undefined): string {
  return text('name', raw, 64, true);
}

export function priority(raw: number | null | undefined): number {
  const p = raw ?? 0;
  if (!Number.isInteger(p) || p < 0 || p > MAX_UINT32) throw invalid('priority must be an integer 0..4294967295');
  return p;
}

/** 0 = top level. */
export function parentId(raw: number | null | undefined): number {
  return raw === null || raw === undefined || raw === 0 ? 0 : id('parent_id', raw);
}
