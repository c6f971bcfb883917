import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from './options';
import { DEFAULT_SCENARIOS_TEXT, loadScenarios, parseScenarios, scenarioRuns, tokenize, withoutOption } from './scenarios';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err.problems;
    throw err;
  }
  return [];
}

describe('parseScenarios', () => {
  it('reads the default list: latency-5k, throughput, latency-1k, offline, logins, idle-conns, then the group scenarios and many-conns', () => {
    const list = parseScenarios(DEFAULT_SCENARIOS_TEXT, 'default');
    expect(list.map((s) => s.name)).toEqual([
      'latency-5k', 'throughput', 'latency-1k', 'offline', 'logins', 'idle-conns',
      'group-2000-offline-5', 'group-2000-online-1', 'group-2000-online-2', 'group-2000-online-5', 'group-2000-max',
      'group-2000-default-2', 'group-2000-default-20', 'group-2000-default-100', 'many-conns', 'group-2000-max-nocontrol',
    ]);
    expect(list[0].args).toEqual(['--pairs', '50', '--rate', '5000', '--duration', '20']);
    expect(list[1].args).toEqual(['--pairs', '100', '--rate', '0', '--window', '64', '--duration', '20']);
    expect(list[2].args).toEqual(['--pairs', '50', '--rate', '1000', '--duration', '15']);
    expect(list[3].args).toEqual(['--mode', 'offline', '--pairs', '100', '--messages', '200']);
    expect(loadScenarios('default').scenarios).toEqual(list);
  });

  it('knows the sweep list by name: many-conns at 5k..30k msg/s and the default group at 2/20/100, all plotted', () => {
    const sweep = loadScenarios('sweep');
    expect(sweep.source).toBe('sweep');
    const runs = scenarioRuns(['--spawn-cluster', '--scenarios', 'sweep'], sweep.scenarios, 'sweep');
    expect(runs.map((r) => [r.opts.plotSeries, r.opts.rate])).toEqual([
      ['many-conns', 5000],
      ['many-conns', 10000],
      ['many-conns', 15000],
      ['many-conns', 20000],
      ['many-conns', 30000],
      ['group-2000-default', 2],
      ['group-2000-default', 20],
      ['group-2000-default', 100],
    ]);
    for (const r of runs) expect(r.opts.msgRateLimit).toBe('default');
  });

  it('skips comments and blank lines, keeps line numbers, honours quotes', () => {
    const text = '# header\n\n  a --pairs 2   # trailing comment\nb --password "x y" --size=100\r\n';
    expect(parseScenarios(text, 'f')).toEqual([
      { name: 'a', args: ['--pairs', '2'], line: 3 },
      { name: 'b', args: ['--password', 'x y', '--size=100'], line: 4 },
    ]);
  });

  it('reports every problem with file and line', () => {
    const p = problemsOf(() => parseScenarios('a --pairs 1\na --pairs 2\nbad/name\nc --report x.md --spawn-cluster\nd --password "open\n', 'list.txt'));
    expect(p).toEqual([
      'list.txt:2: scenario a appears twice',
      'list.txt:3: scenario name: 1..26 characters of [A-Za-z0-9_.-], got "bad/name"',
      'list.txt:4: c: --report applies to the whole command, not to one scenario',
      'list.txt:4: c: --spawn-cluster applies to the whole command, not to one scenario',
      'list.txt:5: unterminated quote',
    ]);
    expect(problemsOf(() => parseScenarios('# nothing\n', 'empty'))).toEqual(['empty: no scenarios']);
  });

  it('loads a file and says when it cannot', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tt-scen-'));
    const file = path.join(dir, 'list');
    writeFileSync(file, 'one --pairs 1 --duration 1\n');
    expect(loadScenarios(file)).toEqual({ scenarios: [{ name: 'one', args: ['--pairs', '1', '--duration', '1'], line: 1 }], source: file });
    expect(problemsOf(() => loadScenarios(path.join(dir, 'missing')))[0]).toMatch(/^--scenarios: cannot read /);
  });
});

describe('tokenize', () => {
  it('splits at blanks and keeps quoted blanks and empty strings', () => {
    expect(tokenize(`a  'b c' "d'e" ''`)).toEqual(['a', 'b c', "d'e", '']);
    expect(tokenize('x "y')).toBeUndefined();
  });
});

describe('withoutOption', () => {
  it('removes both spellings', () => {
    expect(withoutOption(['--scenarios', 'f', '--pairs', '2', '--scenarios=g'], 'scenarios')).toEqual(['--pairs', '2']);
  });
});

describe('scenarioRuns', () => {
  const list = parseScenarios(DEFAULT_SCENARIOS_TEXT, 'default');

  it('labels each run by its scenario and gives it its own users', () => {
    const runs = scenarioRuns(['--spawn-cluster', '--report', 'r.md', '--scenarios', 'default'], list, 'default');
    expect(runs.map((r) => [r.opts.label, r.opts.mode, r.opts.pairs, r.opts.rate, r.opts.window, r.opts.durationSec, r.opts.usersPrefix])).toEqual([
      ['latency-5k', 'live', 50, 5000, 64, 20, 'latency-5k-'],
      ['throughput', 'live', 100, 0, 64, 20, 'throughput-'],
      ['latency-1k', 'live', 50, 1000, 64, 15, 'latency-1k-'],
      ['offline', 'offline', 100, 5000, 64, 20, 'offline-'],
      ['logins', 'logins', 50, 5000, 64, 15, 'logins-'],
      ['idle-conns', 'idle-conns', 50, 5000, 64, 35, 'idle-conns-'],
      ['group-2000-offline-5', 'group', 50, 5, 64, 10, 'grp-'],
      ['group-2000-online-1', 'group', 50, 1, 64, 10, 'grp-'],
      ['group-2000-online-2', 'group', 50, 2, 64, 10, 'grp-'],
      ['group-2000-online-5', 'group', 50, 5, 64, 10, 'grp-'],
      ['group-2000-max', 'group', 50, 0, 8, 10, 'grp-'],
      ['group-2000-default-2', 'group', 50, 2, 64, 10, 'grp-'],
      ['group-2000-default-20', 'group', 50, 20, 64, 10, 'grp-'],
      ['group-2000-default-100', 'group', 50, 100, 64, 5, 'grp-'],
      ['many-conns', 'live', 1000, 30000, 64, 20, 'grp-'],
      ['group-2000-max-nocontrol', 'group', 50, 0, 8, 10, 'grp-'],
    ]);
    const group = runs.filter((r) => r.opts.mode === 'group');
    expect(group.map((r) => [r.opts.members, r.opts.online, r.opts.groupPushControl, r.opts.msgRateLimit])).toEqual([
      [2000, 'none', true, 0],
      [2000, 'all', true, 0],
      [2000, 'all', true, 0],
      [2000, 'all', true, 0],
      [2000, 'all', true, 0],
      [2000, 'all', true, 'default'],
      [2000, 'all', true, 'default'],
      [2000, 'all', true, 'default'],
      [2000, 'all', false, 0],
    ]);
    // The logins scenario of issue 13: 200 in flight, 10 % wrong passwords.
    expect(runs[4].opts).toMatchObject({ mode: 'logins', concurrency: 200, wrongRatio: 0.1 });
    // many-conns: 2,000 connections at 15 msg/s each, placed by /msg_server, flood control at the gateway default.
    const many = runs.find((r) => r.opts.label === 'many-conns')?.opts;
    expect(many).toMatchObject({ pairs: 1000, rate: 30_000, viaLogin: true, msgRateLimit: 'default', plotSeries: 'many-conns' });
    expect(runs[3].opts).toMatchObject({ messages: 200, page: 40 });
    for (const r of runs) expect(r.opts).toMatchObject({ spawnCluster: true, report: 'r.md', warmupSec: 3, scenarios: undefined });
  });

  it('lets command-line options override the scenario options', () => {
    const runs = scenarioRuns(['--spawn-cluster', '--scenarios', 'default', '--duration', '2', '--warmup', '0', '--users-prefix', 'u'], list, 'default');
    expect(runs.map((r) => [r.opts.durationSec, r.opts.warmupSec, r.opts.usersPrefix])).toEqual([
      ...Array.from({ length: list.length }, () => [2, 0, 'u']),
    ]);
    expect(list.length).toBe(16);
    const own = scenarioRuns(['--scenarios=x'], parseScenarios('s --users-prefix mine', 'x'), 'x');
    expect(own[0].opts.usersPrefix).toBe('mine');
  });

  it('reports invalid scenario options with the scenario and line', () => {
    const p = problemsOf(() => scenarioRuns([], parseScenarios('ok --pairs 1\nbad --pairs 0 --bogus 1', 'f'), 'f'));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^f:2: bad: /);
    expect(problemsOf(() => scenarioRuns([], parseScenarios('bad --pairs 0', 'f'), 'f'))).toEqual([
      'f:1: bad: --pairs: expected an integer in 1..10000, got "0"',
    ]);
  });
});
