// The admin CLI's command line (cli-args.ts, node:util parseArgs): every
// command parses to its operation; bad input is a UsageError (exit 2), never a guess.
import { UsageError, parseAdminArgs, withPassword } from './cli-args';

const group = (argv: string[]) => {
  const inv = parseAdminArgs(argv);
  if (inv?.command.area !== 'group') throw new Error('not a group command');
  return inv.command.group;
};
const directory = (argv: string[]) => {
  const inv = parseAdminArgs(argv);
  if (inv?.command.area !== 'directory') throw new Error('not a directory command');
  return inv.command.command;
};

describe('group commands (as before the move to services/admin)', () => {
  it.each([
    [['group', 'list', '7'], { kind: 'list', userId: 7 }],
    [['info', '3'], { kind: 'info', groupId: 3 }],
    [['members', '3'], { kind: 'members', groupId: 3 }],
    [['create', 'ops', '--owner', '1', '2', '3', '2'], { kind: 'create', name: 'ops', ownerId: 1, memberIds: [1, 2, 3], temporary: false, avatar: '' }],
    [['create', 'tmp', '--as', '4', '--tmp', '--avatar', 'a.png', '4'], { kind: 'create', name: 'tmp', ownerId: 4, memberIds: [4], temporary: true, avatar: 'a.png' }],
    [['add', '3', '5', '6'], { kind: 'add', groupId: 3, userIds: [5, 6] }],
    [['remove', '3', '5'], { kind: 'remove', groupId: 3, userIds: [5] }],
    [['set-admin', '3', '5'], { kind: 'set-admin', groupId: 3, userId: 5 }],
    [['unset-admin', '3', '5'], { kind: 'unset-admin', groupId: 3, userId: 5 }],
    [['mute', '3', '5', '60'], { kind: 'mute', groupId: 3, memberId: 5, seconds: 60 }],
    [['mute', '3', 'all', '60'], { kind: 'mute', groupId: 3, memberId: 0, seconds: 60 }],
    [['unmute', '3', 'all'], { kind: 'unmute', groupId: 3, memberId: 0 }],
    [['dismiss', '3'], { kind: 'dismiss', groupId: 3 }],
  ])('%j', (argv, command) => {
    expect(group(argv).command).toEqual(command);
  });

  it('reads --as and --json anywhere', () => {
    expect(parseAdminArgs(['--json', 'dismiss', '9', '--as', '12'])).toEqual({
      command: { area: 'group', group: { command: { kind: 'dismiss', groupId: 9 }, asUserId: 12 } },
      json: true,
    });
  });
});

describe('user and department commands', () => {
  it.each([
    [['user', 'create', 'erin', '--dept', '2', '--nick', 'Erin', '--sex', '2'], { kind: 'user-create', user: { name: 'erin', password: '', departId: 2, nick: 'Erin', sex: 2 } }],
    [['user', 'set-password', 'erin'], { kind: 'user-set-password', user: { name: 'erin' }, password: '' }],
    [['user', 'disable', '12'], { kind: 'user-disable', user: { userId: 12 } }],
    [['user', 'enable', 'erin'], { kind: 'user-enable', user: { name: 'erin' } }],
    [['user', 'show', 'erin', '--json'], { kind: 'user-show', user: { name: 'erin' } }],
    [['user', 'list'], { kind: 'user-list', departId: 0, includeDisabled: false }],
    [['user', 'list', '--dept', '3', '--all'], { kind: 'user-list', departId: 3, includeDisabled: true }],
    [['dept', 'create', 'Sales', '--parent', '1', '--priority', '5'], { kind: 'dept-create', name: 'Sales', parentId: 1, priority: 5 }],
    [['dept', 'rename', '4', 'Support'], { kind: 'dept-rename', departId: 4, name: 'Support' }],
    [['dept', 'list'], { kind: 'dept-list' }],
    [['dept', 'move-user', 'erin', '4'], { kind: 'dept-move-user', user: { name: 'erin' }, departId: 4 }],
  ])('%j', (argv, command) => {
    expect(directory(argv)).toMatchObject(command);
  });

  it('asks for a password only where one is set, and fills it in', () => {
    const inv = parseAdminArgs(['user', 'create', 'erin', '--dept', '2', '--password-file', '/tmp/pw']);
    expect(inv?.password).toEqual({ file: '/tmp/pw' });
    expect(parseAdminArgs(['user', 'set-password', '7'])?.password).toEqual({ file: undefined });
    expect(parseAdminArgs(['user', 'show', '7'])?.password).toBeUndefined();
    const filled = withPassword(inv!.command, 's3cret');
    expect(filled.area === 'directory' && filled.command.kind === 'user-create' && filled.command.user.password).toBe('s3cret');
  });

  it('refuses a password on the command line, with the reason', () => {
    expect(() => parseAdminArgs(['user', 'create', 'erin', '--dept', '2', '--password', 'x'])).toThrow(/shows in ps and shell history/);
  });
});

it('help is not an error', () => {
  expect(parseAdminArgs([])).toBeUndefined();
  expect(parseAdminArgs(['--help'])).toBeUndefined();
  expect(parseAdminArgs(['group', 'help'])).toBeUndefined();
  expect(parseAdminArgs(['user', '--help'])).toBeUndefined();
});

it.each([
  [['frobnicate']],
  [['info']],
  [['info', 'x']],
  [['info', '0']],
  [['info', '4294967296']],
  [['info', '3', '4']],
  [['add', '3']],
  [['mute', '3', '5']],
  [['mute', '3', '5', '0']],
  [['mute', '3', "5'; DROP TABLE IMGroup", '10']],
  [['create', 'x', '2']],
  [['create', '', '--owner', '1']],
  [['info', '3', '--bogus']],
  [['info', '3', '--as']],
  [['user', 'create', 'erin']],
  [['user', 'create', 'erin', '--dept', 'x']],
  [['user', 'create', 'erin', '--dept', '2', '--sex', '3']],
  [['user', 'create', 'erin', '--dept', '2', '--tmp']],
  [['user', 'disable']],
  [['user', 'disable', '0']],
  [['user', 'frobnicate', '1']],
  [['dept', 'rename', '4']],
  [['dept', 'move-user', 'erin', 'sales']],
])('%j is a usage error', (argv) => {
  expect(() => parseAdminArgs(argv)).toThrow(UsageError);
});
