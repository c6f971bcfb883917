// The HTTP API's routing and token check without a cluster: every documented
// path resolves to its command, unknown paths are 404 and wrong methods 405.
import { BearerToken, OpsError } from '@tiertalk/cluster-ops';
import { ROUTES, resolveRoute, routeTemplate } from './http-routes';

const build = (method: string, path: string, body?: unknown) => {
  const url = new URL(path, 'http://x');
  const { route, params } = resolveRoute(method, url.pathname);
  return route.build({ params, query: url.searchParams, body });
};

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof OpsError ? err.code : String(err);
  }
};

describe('resolveRoute', () => {
  it('maps users, departments and groups to their commands', () => {
    expect(build('GET', '/v1/users?dept=3&all=true')).toEqual({ area: 'directory', command: { kind: 'user-list', departId: 3, includeDisabled: true } });
    expect(build('POST', '/v1/users', { name: 'erin', password: 'pw', departId: 2 })).toEqual({
      area: 'directory',
      command: { kind: 'user-create', user: { name: 'erin', password: 'pw', departId: 2 } },
    });
    expect(build('PUT', '/v1/users/17/password', { password: 'x' })).toEqual({ area: 'directory', command: { kind: 'user-set-password', user: { userId: 17 }, password: 'x' } });
    expect(build('POST', '/v1/users/erin/disable')).toEqual({ area: 'directory', command: { kind: 'user-disable', user: { name: 'erin' } } });
    expect(build('PATCH', '/v1/departments/4', { name: 'Ops' })).toEqual({ area: 'directory', command: { kind: 'dept-rename', departId: 4, name: 'Ops' } });
    expect(build('POST', '/v1/groups/7/mute?as=3', { memberId: 'all', seconds: 60 })).toEqual({
      area: 'group',
      group: { command: { kind: 'mute', groupId: 7, memberId: 0, seconds: 60 }, asUserId: 3 },
    });
    expect(build('POST', '/v1/groups', { name: 'g', ownerId: 1, memberIds: [2, 1, 2] })).toEqual({
      area: 'group',
      group: { command: { kind: 'create', name: 'g', ownerId: 1, memberIds: [1, 2], temporary: false, avatar: '' }, asUserId: undefined },
    });
  });

  it('refuses bad input with 400, unknown paths with 404, wrong methods with 405', () => {
    expect(code(() => build('POST', '/v1/users', { name: 'erin', departId: 2 }))).toBe('bad_request');
    expect(code(() => build('POST', '/v1/users', { name: 'erin', password: 'x', departId: 2, role: 'root' }))).toBe('bad_request');
    expect(code(() => build('PATCH', '/v1/departments/0', { name: 'x' }))).toBe('bad_request');
    expect(code(() => build('GET', '/v1/groups?user=abc'))).toBe('bad_request');
    expect(code(() => build('GET', '/v1/users/%E0%A4%A'))).toBe('bad_request');
    expect(code(() => build('GET', '/v1/nope'))).toBe('not_found');
    expect(code(() => build('DELETE', '/v1/departments'))).toBe('method_not_allowed');
  });
});

describe('routeTemplate (the metrics label)', () => {
  it('names the route pattern, never the raw path, whatever the method', () => {
    expect(routeTemplate('/v1/users')).toBe('/v1/users');
    expect(routeTemplate('/v1/users/erin%40example.com/password')).toBe('/v1/users/{user}/password');
    expect(routeTemplate('/v1/departments/4')).toBe('/v1/departments/{departmentId}');
    expect(routeTemplate('/v1/groups/7/admins/13')).toBe('/v1/groups/{groupId}/admins/{userId}');
    expect(routeTemplate('/v1/users/a/b/c')).toBe('unmatched');
    expect(routeTemplate('/metrics')).toBe('unmatched');
  });

  it('each route resolves through its own template, parameters captured in order', () => {
    for (const route of ROUTES) {
      const path = route.template.replace(/\{[A-Za-z]+\}/g, (_, i: number) => `p${i}`);
      expect(resolveRoute(route.method, path).route.template).toBe(route.template);
    }
    expect(resolveRoute('PUT', '/v1/groups/7/admins/13').params).toEqual(['7', '13']);
  });
});

describe('BearerToken', () => {
  const token = new BearerToken('t'.repeat(40));
  it('accepts exactly the token, as a Bearer credential', () => {
    expect(token.accepts(`Bearer ${'t'.repeat(40)}`)).toBe(true);
    expect(token.accepts(`bearer ${'t'.repeat(40)}`)).toBe(true);
    for (const h of [undefined, '', 'Bearer', `Bearer ${'t'.repeat(39)}`, `Bearer ${'t'.repeat(41)}`, `Basic ${'t'.repeat(40)}`, `Bearer ${'t'.repeat(40)} extra`]) {
      expect([h, token.accepts(h)]).toEqual([h, false]);
    }
  });
});
