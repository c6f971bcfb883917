import { MAX_DURATION_SEC, UsageError, parseOptions, userNames, type PressureOptions } from './options';

function opts(argv: string[]): PressureOptions {
  const o = parseOptions(argv);
  if ('help' in o) throw new Error('unexpected --help');
  return o;
}

function problems(argv: string[]): string[] {
  try {
    parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) return err.problems;
    throw err;
  }
  return [];
}

describe('parseOptions', () => {
  it('has the documented defaults', () => {
    expect(opts([])).toMatchObject({
      loginUrl: 'http://127.0.0.1:8080',
      gateways: undefined,
      transport: 'tcp',
      pairs: 50,
      rate: 5000,
      window: 64,
      durationSec: 20,
      warmupSec: 3,
      drainSec: 5,
      usersPrefix: 'bench',
      spawnCluster: false,
      msgRateLimit: 0,
      label: '50 pairs, 5000 msg/s, 20 s, tcp',
    });
  });

  it('defaults to live mode; --mode offline takes --messages and --page', () => {
    expect(opts([])).toMatchObject({ mode: 'live', messages: 200, page: 40 });
    expect(opts(['--mode', 'offline', '--pairs', '100', '--messages', '200'])).toMatchObject({
      mode: 'offline',
      pairs: 100,
      messages: 200,
      page: 40,
      label: 'offline: 100 senders × 200 messages, pages of 40, tcp',
    });
    expect(problems(['--mode', 'batch', '--messages', '0', '--page', '101'])).toEqual([
      '--mode: expected live, offline, group, logins or idle-conns, got "batch"',
      '--messages: expected an integer in 1..100000, got "0"',
      '--page: expected an integer in 1..100, got "101"',
    ]);
  });

  it('--mode logins takes --users, --concurrency, --wrong-ratio and --wrong-passwords', () => {
    expect(opts(['--mode', 'logins'])).toMatchObject({ mode: 'logins', users: 1000, concurrency: 200, wrongRatio: 0.1, wrongPasswords: 'same' });
    expect(opts(['--mode', 'logins', '--users', '500', '--concurrency', '50', '--wrong-ratio', '0.25', '--wrong-passwords', 'distinct', '--duration', '15'])).toMatchObject({
      users: 500,
      concurrency: 50,
      wrongRatio: 0.25,
      wrongPasswords: 'distinct',
      label: 'logins: 50 in flight, 500 users, 25 % wrong (distinct), 15 s',
    });
    expect(problems(['--mode', 'logins', '--wrong-ratio', '2', '--wrong-passwords', 'some'])).toEqual([
      '--wrong-ratio: expected a number in 0..1, got "2"',
      '--wrong-passwords: expected same or distinct, got "some"',
    ]);
  });

  it('--mode idle-conns takes --conns and --source-addrs (a list or a count), holds 35 s by default', () => {
    expect(opts(['--mode', 'idle-conns', '--spawn-cluster'])).toMatchObject({
      mode: 'idle-conns',
      conns: 5000,
      sourceAddrs: ['127.0.0.2', '127.0.0.3'],
      durationSec: 35,
      label: 'idle-conns: 5000 connections from 2 addresses, idle 35 s',
    });
    expect(opts(['--mode', 'idle-conns', '--spawn-cluster', '--conns', '30000']).sourceAddrs).toHaveLength(8);
    expect(opts(['--mode', 'idle-conns', '--spawn-cluster', '--source-addrs', '3']).sourceAddrs).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    expect(opts(['--mode', 'idle-conns', '--gateways', '127.0.0.1:8000', '--source-addrs', '127.0.0.9, 127.0.0.7', '--duration', '5'])).toMatchObject({
      sourceAddrs: ['127.0.0.9', '127.0.0.7'],
      durationSec: 5,
    });
    expect(opts([]).durationSec).toBe(20);
    expect(problems(['--mode', 'idle-conns', '--source-addrs', 'localhost,127.0.0.2'])).toEqual([
      '--source-addrs: expected a count or IPv4 addresses such as 127.0.0.2,127.0.0.3, got "localhost,127.0.0.2"',
      '--mode idle-conns needs --spawn-cluster (gateway RSS from their pids) or --gateways',
    ]);
    expect(problems(['--mode', 'idle-conns', '--spawn-cluster', '--conns', '0', '--source-addrs', '127.0.0.2,127.0.0.2'])).toEqual([
      '--conns: expected an integer in 1..1000000, got "0"',
      '--source-addrs: an address is listed twice in "127.0.0.2,127.0.0.2"',
    ]);
  });

  it('parses gateways, including IPv6 in brackets', () => {
    expect(opts(['--gateways', '10.0.0.1:8000, [::1]:8001']).gateways).toEqual([
      { host: '10.0.0.1', port: 8000 },
      { host: '::1', port: 8001 },
    ]);
  });

  it('caps the duration with a warning', () => {
    const o = opts(['--duration', '1000']);
    expect(o.durationSec).toBe(MAX_DURATION_SEC);
    expect(o.warnings).toHaveLength(1);
  });

  it('labels closed-loop runs by their window', () => {
    expect(opts(['--rate', '0', '--window', '8', '--pairs', '2']).label).toBe('2 pairs, window 8, 20 s, tcp');
  });

  it('reports every bad option at once', () => {
    const p = problems(['--pairs', '0', '--rate', 'x', '--transport', 'udp', '--gateways', 'nohost', '--size', '5000']);
    expect(p).toHaveLength(5);
  });

  it('rejects conflicting and unknown options', () => {
    expect(problems(['--spawn-cluster', '--gateways', 'a:1'])).toHaveLength(1);
    expect(problems(['--spawn-cluster', '--create-users', 'mysql://root@h/db'])).toHaveLength(1);
    expect(problems(['--msg-rate-limit', '5'])).toHaveLength(1);
    expect(problems(['--create-users', 'postgres://x'])).toHaveLength(1);
    expect(problems(['--label', 'a --> b'])).toHaveLength(1);
    expect(problems(['--bogus'])).toHaveLength(1);
  });

  it('parses --warmup and --scenarios', () => {
    expect(opts(['--warmup', '0']).warmupSec).toBe(0);
    expect(opts(['--warmup', '1.5']).warmupSec).toBe(1.5);
    expect(opts([]).scenarios).toBeUndefined();
    expect(opts(['--scenarios', 'default']).scenarios).toBe('default');
    expect(problems(['--warmup', '-1'])).toHaveLength(1);
    expect(problems(['--warmup', '301'])).toHaveLength(1);
    expect(problems(['--scenarios', 'default', '--label', 'x'])).toHaveLength(1);
    expect(problems(['--scenarios', ' '])).toHaveLength(1);
  });

  it('returns help', () => {
    expect(parseOptions(['--help'])).toEqual({ help: true });
  });
});

describe('userNames', () => {
  it('numbers users from 1 with at least four digits', () => {
    expect(userNames('bench', 3)).toEqual(['bench0001', 'bench0002', 'bench0003']);
    expect(userNames('b', 10_000).at(-1)).toBe('b10000');
  });
});

describe('parseOptions --mode group', () => {
  it('defaults to 2000 members, all online, 4 senders, 1 msg/s, traffic control on; caps the duration at 20 s', () => {
    const o = parseOptions(['--mode', 'group', '--duration', '60']);
    if ('help' in o) throw new Error('help');
    expect(o).toMatchObject({ mode: 'group', members: 2000, online: 'all', senders: 4, rate: 1, groupPushControl: true, durationSec: 20 });
    expect(o.warnings).toEqual(['--duration 60 capped at 20 s in --mode group']);
    const live = parseOptions([]);
    if ('help' in live) throw new Error('help');
    expect(live.rate).toBe(5000);
  });

  it('rejects bad group options all at once', () => {
    let problems: string[] = [];
    try {
      parseOptions(['--mode', 'group', '--online', 'some', '--members', '3', '--senders', '5', '--group-push-control', 'maybe']);
    } catch (err) {
      if (err instanceof UsageError) problems = err.problems;
    }
    expect(problems).toEqual([
      '--senders 5 is more than --members 3',
      '--online: expected all or none, got "some"',
      '--group-push-control: expected on or off, got "maybe"',
    ]);
  });
});

describe('parseOptions: many-conns, flood control, plot', () => {
  it('takes --msg-rate-limit default: the gateways keep their own flood control', () => {
    expect(opts(['--spawn-cluster', '--msg-rate-limit', 'default']).msgRateLimit).toBe('default');
    expect(opts(['--spawn-cluster', '--msg-rate-limit', '20']).msgRateLimit).toBe(20);
    expect(opts(['--spawn-cluster']).msgRateLimit).toBe(0);
    // A running cluster has its own defaults anyway; a number can only configure spawned gateways.
    expect(opts(['--msg-rate-limit', 'default']).msgRateLimit).toBe('default');
    expect(problems(['--spawn-cluster', '--msg-rate-limit', 'off'])).toEqual(['--msg-rate-limit: expected an integer in 0..1000000, got "off"']);
  });

  it('places clients through the login server with --via-login, never with --gateways', () => {
    expect(opts(['--spawn-cluster', '--via-login']).viaLogin).toBe(true);
    expect(opts(['--spawn-cluster']).viaLogin).toBe(false);
    expect(problems(['--gateways', '127.0.0.1:1', '--via-login'])).toEqual(['--via-login and --gateways exclude each other']);
    expect(problems(['--spawn-cluster', '--via-login', '--mode', 'logins'])).toEqual(['--via-login applies to --mode live (the other modes place their clients themselves)']);
  });

  it('reads --plot-series, --points and --note', () => {
    expect(opts(['--plot-series', 'many-conns', '--points', 'docs/bench-plot.json', '--note', ' loaded machine, preliminary '])).toMatchObject({
      plotSeries: 'many-conns',
      points: 'docs/bench-plot.json',
      note: 'loaded machine, preliminary',
    });
    expect(opts([])).toMatchObject({ plotSeries: undefined, points: undefined, note: undefined });
    expect(problems(['--points', 'plot.svg'])).toEqual(['--points: expected a .json file name, got "plot.svg"']);
    expect(problems(['--plot-series', 'a/b'])).toEqual(['--plot-series: 1..40 characters of [A-Za-z0-9_. :-], got "a/b"']);
    expect(problems(['--mode', 'logins', '--plot-series', 'x'])).toEqual(['--plot-series applies to --mode live and --mode group']);
    expect(problems(['--note', 'a --> b'])).toEqual(['--note: one line of text']);
  });
});
