// migrate-main's command line (built dist/migrate-main.js): options it does not know fail before any database work.
import { spawnSync } from 'node:child_process';
import { MIGRATE_MAIN } from '@tiertalk/testkit';

function migrateMain(...args: string[]) {
  // An unreachable server: a run that got past the command line would fail differently.
  const env = { ...process.env, TT_MYSQL_MIGRATE_URL: 'mysql://nobody@127.0.0.1:1/none' };
  return spawnSync(process.execPath, [MIGRATE_MAIN, ...args], { encoding: 'utf8', env });
}

describe('migrate-main command line', () => {
  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['extra'], "Unexpected argument 'extra'"],
    [['--seed-demo=yes'], "Option '--seed-demo' does not take an argument"],
  ])('%j: exit 1 naming the problem, with the usage', (args, problem) => {
    const run = migrateMain(...args);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(problem);
    expect(run.stderr).toContain('usage: migrate-main [--seed-demo]');
  });

  it('--help and -h print the usage and exit 0', () => {
    for (const flag of ['--help', '-h']) {
      const run = migrateMain(flag);
      expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 0, stdout: expect.stringContaining('usage: migrate-main') });
    }
  });
});
