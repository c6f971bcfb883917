// The admin CLI's command line (cli.ts), parsed with node:util parseArgs:
// parsing only, so it is testable without a cluster. Bad input is a
// UsageError (exit 2) naming what is wrong, never a guess.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { type GroupCommand, OpsError } from '@tiertalk/cluster-ops';
import type { AdminCommand } from './operations';
import { parseUserRef, type UserCommand } from './user-ops';

export const ADMIN_USAGE = `usage: tiertalk-admin <area> <command> [args] [--json]
       (node services/admin/dist/cli.js ...; --help for this text)

users (a <user> is an id, or a login name that is not all digits):
  user create <name> --dept <departId> [--nick <nick>] [--sex 0|1|2] [--email <addr>] [--phone <tel>]
              [--avatar <url>] [--domain <pinyin>] [--password-file <file>]
  user set-password <user> [--password-file <file>]
  user disable <user>                          no login from now on; open sessions are closed
  user enable <user>
  user list [--dept <departId>] [--all]        active users (--all: disabled ones too)
  user show <user>
  The password is read from --password-file (first line), else from stdin (first line),
  else prompted for on a terminal; never from the command line (ps, shell history).

departments:
  dept create <name> [--parent <departId>] [--priority <n>]
  dept rename <departId> <newName>
  dept list
  dept move-user <user> <departId>

groups ("group" may be left out):
  group list <userId>                          NORMAL groups the user is in (group id, version)
  group info <groupId>                         name, type, owner, version and members of a group
  group members <groupId>                      member ids of a group
  group create <name> --owner <userId> [memberId...] [--tmp] [--avatar <url>]
                                               create a group (NORMAL unless --tmp); the owner is a member
  group add <groupId> <userId...>              add members
  group remove <groupId> <userId...>           remove members
  group set-admin <groupId> <userId>           make a member an admin
  group unset-admin <groupId> <userId>         make an admin a plain member again
  group mute <groupId> <userId|all> <seconds>  mute one member, or the whole group ("all")
  group unmute <groupId> <userId|all>          lift a member's or the group-wide mute
  group dismiss <groupId>                      dismiss a group
  Changes act as the group's owner (IMGroup.creator) unless --as <userId> names
  another member; members get the notifications a client-made change sends.

--json prints the answer as one JSON line (errors too, on stderr: {"error":{"code","message"}}).

environment: TT_ETCD_ENDPOINTS (default http://127.0.0.1:2379), TT_ETCD_PREFIX (default /tiertalk),
             TT_DB_DEADLINE_MS, TT_ROUTE_DEADLINE_MS (default 5000), TT_LOG_LEVEL (default error; logs go to stderr),
             TT_TLS_CA, TT_TLS_CERT, TT_TLS_KEY (the operator's certificate, e.g. .run/tls/admin.crt;
             or TT_GRPC_INSECURE=true for a plaintext cluster), TT_ETCD_CA/CERT/KEY for https:// etcd
exit codes: 0 done, 1 refused (not found, exists, result code), 2 usage, 3 cluster unreachable or failed
`;

export class UsageError extends OpsError {
  constructor(message: string) {
    super('bad_request', message);
  }
}

export interface CliInvocation {
  command: AdminCommand;
  json: boolean;
  /** The command needs a password: read it from this file, else stdin or a prompt. */
  password?: { file: string | undefined };
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

const MAX_UINT32 = 0xffffffff;
const COMMON: Options = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };
const PROFILE: Options = {
  dept: { type: 'string' },
  nick: { type: 'string' },
  sex: { type: 'string' },
  email: { type: 'string' },
  phone: { type: 'string' },
  avatar: { type: 'string' },
  domain: { type: 'string' },
};
const PASSWORD: Options = {
  'password-file': { type: 'string' },
  // Declared only to refuse it with a reason (a password in argv shows in ps and shell history).
  password: { type: 'string' },
};

/** Options each command accepts; anything else is "unknown option". */
const COMMAND_OPTIONS: Record<string, Options> = {
  'user create': { ...PROFILE, ...PASSWORD },
  'user set-password': PASSWORD,
  'user disable': {},
  'user enable': {},
  'user list': { dept: { type: 'string' }, all: { type: 'boolean' } },
  'user show': {},
  'dept create': { parent: { type: 'string' }, priority: { type: 'string' } },
  'dept rename': {},
  'dept list': {},
  'dept move-user': {},
};
const GROUP_VERBS = ['list', 'info', 'members', 'create', 'add', 'remove', 'set-admin', 'unset-admin', 'mute', 'unmute', 'dismiss'];
const GROUP_OPTIONS: Options = { as: { type: 'string' }, owner: { type: 'string' }, avatar: { type: 'string' }, tmp: { type: 'boolean' } };
const EVERY_OPTION: Options = Object.assign({}, COMMON, GROUP_OPTIONS, ...Object.values(COMMAND_OPTIONS));

function id(what: string, raw: string | boolean | undefined): number {
  if (raw === undefined || typeof raw === 'boolean') throw new UsageError(`missing ${what}`);
  if (!/^[0-9]+$/.test(raw)) throw new UsageError(`${what} must be a positive integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < 1 || n > MAX_UINT32) throw new UsageError(`${what} out of range: ${raw}`);
  return n;
}

function optionalInt(what: string, raw: string | boolean | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'boolean' || !/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`${what} must be an integer ${min}..${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function str(raw: string | boolean | undefined): string | undefined {
  return typeof raw === 'string' ? raw : undefined;
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

function exactly(args: readonly string[], count: number, what: string): void {
  if (args.length < count) throw new UsageError(`missing ${what}`);
  if (args.length > count) throw new UsageError(`unexpected argument(s): ${args.slice(count).join(' ')}`);
}

function parse(argv: readonly string[], options: Options): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (err) {
    // parseArgs's own messages name the option ("Unknown option '--x'", "Option '--dept <value>' argument missing").
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function groupCommand(verb: string, args: string[], v: Values): GroupCommand {
  switch (verb) {
    case 'list':
      exactly(args, 1, 'userId');
      return { kind: 'list', userId: id('userId', args[0]) };
    case 'info':
    case 'members':
    case 'dismiss':
      exactly(args, 1, 'groupId');
      return { kind: verb, groupId: id('groupId', args[0]) };
    case 'create': {
      const name = args[0];
      if (name === undefined || name.trim() === '') throw new UsageError('missing group name');
      const owner = v.owner !== undefined ? id('--owner', v.owner) : v.as !== undefined ? id('--as', v.as) : undefined;
      if (owner === undefined) throw new UsageError('create needs --owner <userId>');
      const memberIds = ids('memberId', args.slice(1), false);
      return { kind: 'create', name, ownerId: owner, memberIds: [owner, ...memberIds.filter((m) => m !== owner)], temporary: v.tmp === true, avatar: str(v.avatar) ?? '' };
    }
    case 'add':
    case 'remove':
      return { kind: verb, groupId: id('groupId', args[0]), userIds: ids('userId', args.slice(1), true) };
    case 'set-admin':
    case 'unset-admin':
      exactly(args, 2, 'groupId and userId');
      return { kind: verb, groupId: id('groupId', args[0]), userId: id('userId', args[1]) };
    case 'mute':
      exactly(args, 3, 'groupId, userId (or "all") and seconds');
      return { kind: 'mute', groupId: id('groupId', args[0]), memberId: memberOrAll(args[1]), seconds: seconds(args[2]) };
    case 'unmute':
      exactly(args, 2, 'groupId and userId (or "all")');
      return { kind: 'unmute', groupId: id('groupId', args[0]), memberId: memberOrAll(args[1]) };
    default:
      throw new UsageError(`unknown group command ${JSON.stringify(verb)}`);
  }
}

function userRef(raw: string | undefined): ReturnType<typeof parseUserRef> {
  if (raw === undefined) throw new UsageError('missing user (an id or a login name)');
  try {
    return parseUserRef(raw);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function directoryCommand(key: string, args: string[], v: Values): UserCommand {
  switch (key) {
    case 'user create':
      exactly(args, 1, 'user name');
      return {
        kind: 'user-create',
        // Filled in by the CLI from --password-file, stdin or a prompt.
        user: {
          name: args[0],
          password: '',
          departId: id('--dept', v.dept),
          nick: str(v.nick),
          sex: optionalInt('--sex', v.sex, 0, 2),
          email: str(v.email),
          phone: str(v.phone),
          avatar: str(v.avatar),
          domain: str(v.domain),
        },
      };
    case 'user set-password':
      exactly(args, 1, 'user');
      return { kind: 'user-set-password', user: userRef(args[0]), password: '' };
    case 'user disable':
    case 'user enable':
    case 'user show':
      exactly(args, 1, 'user');
      return { kind: key === 'user disable' ? 'user-disable' : key === 'user enable' ? 'user-enable' : 'user-show', user: userRef(args[0]) };
    case 'user list':
      exactly(args, 0, '');
      return { kind: 'user-list', departId: v.dept === undefined ? 0 : id('--dept', v.dept), includeDisabled: v.all === true };
    case 'dept create':
      exactly(args, 1, 'department name');
      return { kind: 'dept-create', name: args[0], parentId: optionalInt('--parent', v.parent, 0, MAX_UINT32) ?? 0, priority: optionalInt('--priority', v.priority, 0, MAX_UINT32) ?? 0 };
    case 'dept rename':
      exactly(args, 2, 'departId and new name');
      return { kind: 'dept-rename', departId: id('departId', args[0]), name: args[1] };
    case 'dept list':
      exactly(args, 0, '');
      return { kind: 'dept-list' };
    case 'dept move-user':
      exactly(args, 2, 'user and departId');
      return { kind: 'dept-move-user', user: userRef(args[0]), departId: id('departId', args[1]) };
    default:
      throw new UsageError(`unknown command ${JSON.stringify(key)}`);
  }
}

/** Parses argv (without node and the script); throws UsageError. Help → undefined. */
export function parseAdminArgs(argv: readonly string[]): CliInvocation | undefined {
  // First pass: every option, to find the command among the positionals.
  const first = parse(argv, EVERY_OPTION);
  const [area, ...rest] = first.positionals;
  if (first.values.help === true || area === undefined || area === 'help') return undefined;
  if (area === 'user' || area === 'dept') {
    const [verb, ...args] = rest;
    if (verb === undefined || verb === 'help') return undefined;
    const key = `${area} ${verb}`;
    const options = COMMAND_OPTIONS[key];
    if (options === undefined) throw new UsageError(`unknown command ${JSON.stringify(key)}`);
    // Second pass: only this command's options.
    const { values } = parse(argv, { ...COMMON, ...options });
    if (values.password !== undefined) {
      throw new UsageError('--password is not accepted: a password on the command line shows in ps and shell history; use --password-file <file>, stdin or the prompt');
    }
    const command = directoryCommand(key, args, values);
    const needsPassword = command.kind === 'user-create' || command.kind === 'user-set-password';
    return { command: { area: 'directory', command }, json: values.json === true, ...(needsPassword ? { password: { file: str(values['password-file']) } } : {}) };
  }
  const positionals = area === 'group' ? rest : first.positionals;
  const [verb, ...args] = positionals;
  if (verb === undefined || verb === 'help') return undefined;
  if (!GROUP_VERBS.includes(verb)) throw new UsageError(`unknown command ${JSON.stringify(verb)}`);
  const { values } = parse(argv, { ...COMMON, ...GROUP_OPTIONS });
  const asUserId = values.as === undefined ? undefined : id('--as', values.as);
  return { command: { area: 'group', group: { command: groupCommand(verb, args, values), asUserId } }, json: values.json === true };
}

/** The command with the password the CLI read filled in. */
export function withPassword(command: AdminCommand, password: string): AdminCommand {
  if (command.area !== 'directory') return command;
  const c = command.command;
  if (c.kind === 'user-create') return { area: 'directory', command: { ...c, user: { ...c.user, password } } };
  if (c.kind === 'user-set-password') return { area: 'directory', command: { ...c, password } };
  return command;
}
