// Command line of the operator's group admin CLI (admin-cli.ts): parsing
// only, so it is testable without a cluster.

export const ADMIN_USAGE = `usage: node services/db-proxy/dist/admin-cli.js [group] <command> [args] [--as <userId>] [--json]

commands:
  list <userId>                                NORMAL groups the user is in (group id, version)
  info <groupId>                               name, type, owner, version and members of a group
  members <groupId>                            member ids of a group
  create <name> --owner <userId> [memberId...] [--tmp] [--avatar <url>]
                                               create a group (NORMAL unless --tmp); the owner is a member
  add <groupId> <userId...>                    add members
  remove <groupId> <userId...>                 remove members
  set-admin <groupId> <userId>                 make a member an admin
  unset-admin <groupId> <userId>               make an admin a plain member again
  mute <groupId> <userId|all> <seconds>        mute one member, or the whole group ("all")
  unmute <groupId> <userId|all>                lift a member's or the group-wide mute
  dismiss <groupId>                            dismiss a group

Changes act as the group's owner (IMGroup.creator) unless --as <userId> names
another member; members get the notifications a client-made change sends.
--json prints the answer as one JSON line.

environment: TT_ETCD_ENDPOINTS (default http://127.0.0.1:2379), TT_ETCD_PREFIX (default /tiertalk),
             TT_DB_DEADLINE_MS (default 5000), TT_LOG_LEVEL (default error; logs go to stderr),
             TT_TLS_CA, TT_TLS_CERT, TT_TLS_KEY (the operator's certificate, e.g. .run/tls/admin.crt;
             or TT_GRPC_INSECURE=true for a plaintext cluster), TT_ETCD_CA/CERT/KEY for https:// etcd
exit codes: 0 done, 1 refused (result code, no such group), 2 usage or connection error
`;

export type AdminCommand =
  | { kind: 'list'; userId: number }
  | { kind: 'info'; groupId: number }
  | { kind: 'members'; groupId: number }
  | { kind: 'create'; name: string; ownerId: number; memberIds: number[]; temporary: boolean; avatar: string }
  | { kind: 'add' | 'remove'; groupId: number; userIds: number[] }
  | { kind: 'set-admin' | 'unset-admin'; groupId: number; userId: number }
  | { kind: 'mute'; groupId: number; memberId: number; seconds: number }
  | { kind: 'unmute'; groupId: number; memberId: number }
  | { kind: 'dismiss'; groupId: number };

export interface AdminInvocation {
  command: AdminCommand;
  /** Act as this user instead of the group's owner. */
  asUserId: number | undefined;
  json: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const MAX_UINT32 = 0xffffffff;

function id(what: string, raw: string | undefined): number {
  if (raw === undefined) throw new UsageError(`missing ${what}`);
  if (!/^[0-9]+$/.test(raw)) throw new UsageError(`${what} must be a positive integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < 1 || n > MAX_UINT32) throw new UsageError(`${what} out of range: ${raw}`);
  return n;
}

function seconds(raw: string | undefined): number {
  if (raw === undefined) throw new UsageError('missing seconds');
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_UINT32) throw new UsageError(`seconds must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** `all` = the whole group (member id 0 on the wire). */
function memberOrAll(raw: string | undefined): number {
  return raw === 'all' ? 0 : id('userId (or "all")', raw);
}

function ids(what: string, raws: readonly string[], atLeastOne: boolean): number[] {
  if (atLeastOne && raws.length === 0) throw new UsageError(`missing ${what}`);
  return [...new Set(raws.map((r) => id(what, r)))];
}

function noMore(args: readonly string[], count: number): void {
  if (args.length > count) throw new UsageError(`unexpected argument(s): ${args.slice(count).join(' ')}`);
}

/** Parses argv (without node and the script); throws UsageError. `help` → undefined. */
export function parseAdminArgs(argv: readonly string[]): AdminInvocation | undefined {
  const positional: string[] = [];
  let asUserId: number | undefined;
  let ownerId: number | undefined;
  let avatar = '';
  let json = false;
  let temporary = false;
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return undefined;
    else if (a === '--json') json = true;
    else if (a === '--tmp') temporary = true;
    else if (a === '--as') asUserId = id('--as', argv[++i]);
    else if (a === '--owner') ownerId = id('--owner', argv[++i]);
    else if (a === '--avatar') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError('missing --avatar value');
      avatar = v;
    } else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional[0] === 'group') positional.shift();
  const [verb, ...args] = positional;
  if (verb === undefined || verb === 'help') return undefined;
  const done = (command: AdminCommand): AdminInvocation => ({ command, asUserId, json });
  switch (verb) {
    case 'list':
      noMore(args, 1);
      return done({ kind: 'list', userId: id('userId', args[0]) });
    case 'info':
    case 'members':
    case 'dismiss':
      noMore(args, 1);
      return done({ kind: verb, groupId: id('groupId', args[0]) });
    case 'create': {
      const name = args[0];
      if (name === undefined || name.trim() === '') throw new UsageError('missing group name');
      const owner = ownerId ?? asUserId;
      if (owner === undefined) throw new UsageError('create needs --owner <userId>');
      const memberIds = ids('memberId', args.slice(1), false);
      return done({ kind: 'create', name, ownerId: owner, memberIds: [owner, ...memberIds.filter((m) => m !== owner)], temporary, avatar });
    }
    case 'add':
    case 'remove':
      return done({ kind: verb, groupId: id('groupId', args[0]), userIds: ids('userId', args.slice(1), true) });
    case 'set-admin':
    case 'unset-admin':
      noMore(args, 2);
      return done({ kind: verb, groupId: id('groupId', args[0]), userId: id('userId', args[1]) });
    case 'mute':
      noMore(args, 3);
      return done({ kind: 'mute', groupId: id('groupId', args[0]), memberId: memberOrAll(args[1]), seconds: seconds(args[2]) });
    case 'unmute':
      noMore(args, 2);
      return done({ kind: 'unmute', groupId: id('groupId', args[0]), memberId: memberOrAll(args[1]) });
    default:
      throw new UsageError(`unknown command ${JSON.stringify(verb)}`);
  }
}
