// The admin CLI's command line (admin-cli-args.ts): every command parses to
// its operation; bad input is a UsageError (exit 2), never a guess.
import { UsageError, parseAdminArgs } from './admin-cli-args';

describe('parseAdminArgs', () => {
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
    expect(parseAdminArgs(argv)?.command).toEqual(command);
  });

  it('reads --as and --json anywhere', () => {
    expect(parseAdminArgs(['--json', 'dismiss', '9', '--as', '12'])).toEqual({ command: { kind: 'dismiss', groupId: 9 }, asUserId: 12, json: true });
  });

  it('help is not an error', () => {
    expect(parseAdminArgs([])).toBeUndefined();
    expect(parseAdminArgs(['--help'])).toBeUndefined();
    expect(parseAdminArgs(['group', 'help'])).toBeUndefined();
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
  ])('%j is a usage error', (argv) => {
    expect(() => parseAdminArgs(argv)).toThrow(UsageError);
  });
});
