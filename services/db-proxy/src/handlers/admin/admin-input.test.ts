// DbAdmin's own checks (admin-input.ts): db-proxy refuses bad input before any
// query, whatever the admin service already checked.
import { tiertalk } from '@tiertalk/proto';
import { AdminRefusal } from '../../store/admin-directory';
import { departName, newUser, passwordMd5, userRef } from './admin-input';

const refused = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof AdminRefusal ? err.kind : String(err);
  }
};

const req = (p: Partial<tiertalk.AdminUserCreateReq.$Properties>) => tiertalk.AdminUserCreateReq.create({ name: 'erin', passwordMd5: 'a'.repeat(32), departId: 1, ...p });

it('accepts a well-formed user and trims what TeamTalk would pad', () => {
  expect(newUser(req({ name: 'erin  ', nick: ' Erin ', sex: 2, email: 'e@x.org', phone: '+49-1' }))).toEqual({
    name: 'erin',
    nick: 'Erin',
    sex: 2,
    departId: 1,
    email: 'e@x.org',
    phone: '+49-1',
    avatar: '',
    domain: '',
  });
});

it.each([
  ['empty name', req({ name: '' })],
  ['33-character name', req({ name: 'x'.repeat(33) })],
  ['control character', req({ nick: 'a\u0000b' })],
  ['sex 3', req({ sex: 3 })],
  ['department 0', req({ departId: 0 })],
  ['12-digit phone', req({ phone: '123456789012' })],
  ['phone with letters', req({ phone: 'call me' })],
  ['email without @', req({ email: 'nobody' })],
])('refuses a user with %s', (_what, r) => {
  expect(refused(() => newUser(r))).toBe('invalid');
});

it('wants md5 hex for a password, one way to name a user, a department name', () => {
  expect(refused(() => passwordMd5('plain text'))).toBe('invalid');
  expect(refused(() => passwordMd5('A'.repeat(32)))).toBe('invalid');
  expect(passwordMd5('0123456789abcdef0123456789abcdef')).toBe('0123456789abcdef0123456789abcdef');
  expect(userRef({ userId: 5 })).toEqual({ userId: 5 });
  expect(userRef({ name: 'erin' })).toEqual({ name: 'erin' });
  expect(refused(() => userRef({}))).toBe('invalid');
  expect(refused(() => userRef({ userId: 5, name: 'erin' }))).toBe('invalid');
  expect(refused(() => departName('  '))).toBe('invalid');
  expect(refused(() => departName('d'.repeat(65)))).toBe('invalid');
});
