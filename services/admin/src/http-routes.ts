// The admin HTTP API's routes: method + path → the same AdminCommand the CLI
// runs (operations.ts). Documented with examples in docs/ADMIN.md.
import { type GroupCommand, OpsError } from '@tiertalk/cluster-ops';
import * as body from './http-bodies';
import type { AdminCommand } from './operations';
import { parseUserRef, type UserCommand } from './user-ops';

export interface RouteInput {
  params: string[];
  query: URLSearchParams;
  body: unknown;
}

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface RouteSpec {
  method: RouteMethod;
  /** The path with `{name}` for each segment parameter; also the `route` label of the API's metrics (http-metrics.ts). */
  template: string;
  /** 201 for a create. */
  created?: boolean;
  build(input: RouteInput): AdminCommand;
}

const dir = (command: UserCommand): AdminCommand => ({ area: 'directory', command });
const group = (command: GroupCommand, query: URLSearchParams): AdminCommand => ({
  area: 'group',
  group: { command, asUserId: query.has('as') ? body.pathId('as', query.get('as')) : undefined },
});
function user(raw: string): ReturnType<typeof parseUserRef> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new OpsError('bad_request', `the user in the path is not valid percent-encoding: ${JSON.stringify(raw)}`);
  }
  return parseUserRef(decoded);
}

export interface Route extends RouteSpec {
  path: RegExp;
}

/** A template's matcher: each `{name}` is one path segment, captured in order. */
function compile(template: string): RegExp {
  const escaped = template.split(/\{[A-Za-z]+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('([^/]+)')}$`);
}

const SPECS: readonly RouteSpec[] = [
  {
    method: 'GET',
    template: '/v1/users',
    build: ({ query }) =>
      dir({ kind: 'user-list', departId: query.has('dept') ? body.pathId('dept', query.get('dept')) : 0, includeDisabled: query.get('all') === 'true' }),
  },
  { method: 'POST', template: '/v1/users', created: true, build: ({ body: b }) => dir({ kind: 'user-create', user: body.check(body.createUserBody, b) }) },
  { method: 'GET', template: '/v1/users/{user}', build: ({ params }) => dir({ kind: 'user-show', user: user(params[0]) }) },
  {
    method: 'PUT',
    template: '/v1/users/{user}/password',
    build: ({ params, body: b }) => dir({ kind: 'user-set-password', user: user(params[0]), password: body.check(body.passwordBody, b).password }),
  },
  { method: 'POST', template: '/v1/users/{user}/disable', build: ({ params }) => dir({ kind: 'user-disable', user: user(params[0]) }) },
  { method: 'POST', template: '/v1/users/{user}/enable', build: ({ params }) => dir({ kind: 'user-enable', user: user(params[0]) }) },
  {
    method: 'PUT',
    template: '/v1/users/{user}/department',
    build: ({ params, body: b }) => dir({ kind: 'dept-move-user', user: user(params[0]), departId: body.check(body.departIdBody, b).departId }),
  },
  { method: 'GET', template: '/v1/departments', build: () => dir({ kind: 'dept-list' }) },
  {
    method: 'POST',
    template: '/v1/departments',
    created: true,
    build: ({ body: b }) => {
      const d = body.check(body.createDepartBody, b);
      return dir({ kind: 'dept-create', name: d.name, parentId: d.parentId ?? 0, priority: d.priority ?? 0 });
    },
  },
  {
    method: 'PATCH',
    template: '/v1/departments/{departmentId}',
    build: ({ params, body: b }) => dir({ kind: 'dept-rename', departId: body.pathId('department id', params[0]), name: body.check(body.renameDepartBody, b).name }),
  },
  { method: 'GET', template: '/v1/groups', build: ({ query }) => group({ kind: 'list', userId: body.pathId('user', query.get('user')) }, query) },
  {
    method: 'POST',
    template: '/v1/groups',
    created: true,
    build: ({ body: b, query }) => {
      const g = body.check(body.createGroupBody, b);
      const others = [...new Set(g.memberIds ?? [])].filter((m) => m !== g.ownerId);
      return group({ kind: 'create', name: g.name, ownerId: g.ownerId, memberIds: [g.ownerId, ...others], temporary: g.temporary === true, avatar: g.avatar ?? '' }, query);
    },
  },
  { method: 'GET', template: '/v1/groups/{groupId}', build: ({ params, query }) => group({ kind: 'info', groupId: body.pathId('group id', params[0]) }, query) },
  { method: 'DELETE', template: '/v1/groups/{groupId}', build: ({ params, query }) => group({ kind: 'dismiss', groupId: body.pathId('group id', params[0]) }, query) },
  { method: 'GET', template: '/v1/groups/{groupId}/members', build: ({ params, query }) => group({ kind: 'members', groupId: body.pathId('group id', params[0]) }, query) },
  {
    method: 'POST',
    template: '/v1/groups/{groupId}/members',
    build: ({ params, query, body: b }) => group({ kind: 'add', groupId: body.pathId('group id', params[0]), userIds: [...new Set(body.check(body.userIdsBody, b).userIds)] }, query),
  },
  {
    method: 'DELETE',
    template: '/v1/groups/{groupId}/members',
    build: ({ params, query, body: b }) =>
      group({ kind: 'remove', groupId: body.pathId('group id', params[0]), userIds: [...new Set(body.check(body.userIdsBody, b).userIds)] }, query),
  },
  {
    method: 'PUT',
    template: '/v1/groups/{groupId}/admins/{userId}',
    build: ({ params, query }) => group({ kind: 'set-admin', groupId: body.pathId('group id', params[0]), userId: body.pathId('user id', params[1]) }, query),
  },
  {
    method: 'DELETE',
    template: '/v1/groups/{groupId}/admins/{userId}',
    build: ({ params, query }) => group({ kind: 'unset-admin', groupId: body.pathId('group id', params[0]), userId: body.pathId('user id', params[1]) }, query),
  },
  {
    method: 'POST',
    template: '/v1/groups/{groupId}/mute',
    build: ({ params, query, body: b }) => {
      const m = body.check(body.muteBody, b);
      return group({ kind: 'mute', groupId: body.pathId('group id', params[0]), memberId: m.memberId, seconds: m.seconds }, query);
    },
  },
  {
    method: 'POST',
    template: '/v1/groups/{groupId}/unmute',
    build: ({ params, query, body: b }) => group({ kind: 'unmute', groupId: body.pathId('group id', params[0]), memberId: body.check(body.unmuteBody, b).memberId }, query),
  },
];

export const ROUTES: readonly Route[] = SPECS.map((spec) => ({ ...spec, path: compile(spec.template) }));

/** The template of the route a path belongs to (whatever the method), or `unmatched`: a bounded metrics label. */
export function routeTemplate(pathname: string): string {
  return ROUTES.find((route) => route.path.test(pathname))?.template ?? 'unmatched';
}

/** The route for a request: its command and success status; 404 / 405 otherwise. */
export function resolveRoute(method: string, pathname: string): { route: Route; params: string[] } {
  let pathMatched = false;
  for (const route of ROUTES) {
    const m = route.path.exec(pathname);
    if (!m) continue;
    pathMatched = true;
    if (route.method === method) return { route, params: m.slice(1) };
  }
  if (pathMatched) throw new OpsError('method_not_allowed', `${method} is not allowed on ${pathname}`);
  throw new OpsError('not_found', `no such endpoint: ${pathname}`);
}
