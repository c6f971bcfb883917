// Command-line options of the pressure tool (node:util parseArgs), validated
// all at once so one run reports every mistake.
import { isIPv4 } from 'node:net';
import { parseArgs } from 'node:util';
import { MAX_BODY_BYTES } from './body';
import { DEFAULT_SCENARIOS_TEXT } from './default-scenarios';

export const MAX_DURATION_SEC = 300;
/** History page size at most (db-proxy caps msg_cnt; docs/FLOWS.md §7.3). */
export const MAX_PAGE = 100;

/**
 * live: pairs send to each other while online (latency, throughput).
 * offline: senders send to receivers that are offline, who then log in and
 * pull unread counts and history (docs/FLOWS.md §7).
 */
export type PressureMode = 'live' | 'offline' | 'group' | 'logins' | 'idle-conns';

/** --mode group: sending is bounded (group-run.ts keeps a bitmap per member). */
export const MAX_GROUP_DURATION_SEC = 20;

/** --mode idle-conns holds the connections this long by default: every client sends one heartbeat (30 s) in it. */
export const IDLE_DEFAULT_HOLD_SEC = 35;
/** Default --source-addrs: one address per this many connections (well under one ephemeral range, ~28k ports). */
export const IDLE_CONNS_PER_ADDR = 4000;

export interface GatewayAddr {
  host: string;
  port: number;
}

export interface PressureOptions {
  mode: PressureMode;
  loginUrl: string;
  /** Explicit gateways; when set the login server is not asked. */
  gateways: GatewayAddr[] | undefined;
  transport: 'tcp' | 'ws';
  /** live: client pairs; offline: senders, each with its own offline receiver. */
  pairs: number;
  /** offline: messages each sender sends. */
  messages: number;
  /** offline: history page size (IMGetMsgListReq.msg_cnt). */
  page: number;
  /** Messages per second over all senders; 0 = closed loop with `window`. */
  rate: number;
  window: number;
  durationSec: number;
  /** Seconds of sending at the same load before the measured period (0 = none). */
  warmupSec: number;
  drainSec: number;
  size: number;
  ackTimeoutMs: number;
  usersPrefix: string;
  password: string;
  createUsers: string | undefined;
  report: string | undefined;
  label: string;
  spawnCluster: boolean;
  /** --scenarios FILE|default: run the scenarios of that list instead of one run. */
  scenarios: string | undefined;
  /** TT_MSG_RATE_PER_SEC given to a spawned cluster's gateways (0 = unlimited); 'default' = not set, the gateways' own flood control. */
  msgRateLimit: number | 'default';
  /** With --spawn-cluster: clients ask the cluster's login server (GET /msg_server) for a gateway, as real clients do. */
  viaLogin: boolean;
  /** The plot series this run is a point of (--points); undefined = not plotted. */
  plotSeries: string | undefined;
  /** --points FILE: the plot's raw points (JSON), upserted per run; FILE with .svg is the plot, re-rendered. */
  points: string | undefined;
  /** --note TEXT: said in each report section and plot point (e.g. "loaded machine, preliminary"). */
  note: string | undefined;
  /** group: members of the one group (senders included). */
  members: number;
  /** group: every member logged in, or only the senders. */
  online: 'all' | 'none';
  /** group: members that post. */
  senders: number;
  /** group: TT_GROUP_PUSH_CONTROL of a spawned cluster's gateways (a scenario that differs gets its own cluster). */
  groupPushControl: boolean;
  /** logins: accounts logged in round-robin. */
  users: number;
  /** logins: logins in flight at once (each on a fresh connection). */
  concurrency: number;
  /** logins: share of attempts with a wrong password. */
  wrongRatio: number;
  /** logins: one stale wrong password per user (a client retrying a saved password) or a new guess each time. */
  wrongPasswords: 'same' | 'distinct';
  /** idle-conns: connections logged in and then held idle (one user each). */
  conns: number;
  /** idle-conns: the 127.0.0.x addresses the connections come from (each has its own ephemeral port range). */
  sourceAddrs: string[];
  /** idle-conns with --spawn-cluster: where the first gateway's heap snapshots (before, held) are written; none when undefined. */
  heapSnapshotDir: string | undefined;
  /** Notes about adjusted values (e.g. the duration cap). */
  warnings: string[];
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export const USAGE = `usage: node test/pressure/dist/main.js [options]

  --login-url URL        login server (default http://127.0.0.1:8080); each client asks GET /msg_server
  --gateways H:P,H:P     explicit msg gateways instead; a pair's two ends go to different ones
  --transport tcp|ws     client transport (default tcp)
  --mode live|offline    live (default): pairs send to each other while online.
                         offline: N senders send M messages each to N receivers that are offline, closed loop
                         with --window; then the receivers log in and pull unread counts and history pages
                         until they have everything (messages stored/s, pull time per user, every ACKed
                         message pulled exactly once); --rate, --duration, --warmup, --drain do not apply
  --mode group           one group of --members users (created through IMGroupCreateReq, TMP); --senders of them
                         post group messages at --rate msg/s (default 1; 0 = closed loop with --window each) for
                         --duration s (at most ${MAX_GROUP_DURATION_SEC}); measures deliveries/s, delivery latency,
                         shed live pushes, duplicates, messages lost from storage (history), CPU/RSS per tier
  --mode logins          login cost: --concurrency logins in flight, each a fresh TCP connection + IMLoginReq, over
                         --users accounts round-robin, --wrong-ratio of them with a wrong password, for --duration s
                         after --warmup s; logins/s and connect → IMLoginRes latency
  --mode idle-conns      memory per connection: --conns users log in (--concurrency in flight) from --source-addrs,
                         spread over the gateways as /msg_server places them (least loaded first), then stay idle
                         for --duration s (default ${IDLE_DEFAULT_HOLD_SEC}: one round of TeamTalk's 30 s heartbeats); gateway RSS
                         before and after, KiB per connection, logins/s while connecting, failures
  --conns N              idle-conns: connections (default 5000); each is one user; raise the fd limit for many
                         (bench.sh runs the tool with ulimit -n at its hard limit)
  --source-addrs LIST|N  idle-conns: local addresses to connect from, e.g. 127.0.0.2,127.0.0.3, or a count from
                         127.0.0.2 on (default one per ${IDLE_CONNS_PER_ADDR} connections, at least 2)
  --heap-snapshot DIR    idle-conns with --spawn-cluster: heap snapshots of the first gateway before connecting and
                         at the end of the hold go to DIR; the report breaks the heap per connection down by type
  --users N              logins: accounts (default 1000)
  --concurrency C        logins: logins in flight at once (default 200)
  --wrong-ratio R        logins: share of attempts with a wrong password (default 0.1)
  --wrong-passwords same|distinct  logins: a wrong attempt repeats the user's one stale password (default) or guesses anew
  --members N            group: members (default 2000)
  --online all|none      group: every member logged in (default) or only the senders
  --senders N            group: members that post (default 4)
  --group-push-control on|off  group: TT_GROUP_PUSH_CONTROL of the spawned cluster (default on)
  --pairs N              client pairs, both ends send to each other (default 50); offline: N senders, N receivers
  --messages M           offline: messages per sender (default 200)
  --page P               offline: history page size (default 40, at most ${MAX_PAGE}; TeamTalk clients ask 20-40)
  --rate R               messages/s over all senders (default 5000); 0 = as fast as ACKs allow
  --window W             unACKed messages per sender when --rate 0 (default 64)
  --duration S           seconds of measured sending (default 20, at most ${MAX_DURATION_SEC})
  --warmup S             send at the same load for S seconds first (default 3, 0 = none); warm-up messages
                         count for lost/duplicated/failed but not for latency or throughput
  --drain S              wait for deliveries after the last ACK (default 5)
  --size B               pad message bodies to B bytes (default: ~40, max ${MAX_BODY_BYTES})
  --ack-timeout MS       a message without ACK after this counts as failed (default 10000)
  --users-prefix P       users are P0001..P<2N> (default bench)
  --password PW          their password (default tiertalk)
  --create-users URL     insert missing users into IMUser at this MySQL URL first
  --spawn-cluster        start a test cluster (testkit: 1 db-proxy, 1 route, 2 msg, login), stop it at the end
  --msg-rate-limit N|default
                         TT_MSG_RATE_PER_SEC of the spawned gateways (default 0 = unlimited; TeamTalk's is 20);
                         "default" leaves it unset: the gateways' own flood control, as make up runs them. May differ
                         per scenario: a scenario whose value differs from the running cluster's gets a cluster of its own
  --via-login            with --spawn-cluster: each client asks the cluster's login server (GET /msg_server) for its
                         gateway, as real clients do (default: clients spread over the gateways by index)
  --plot-series NAME     make this run a point of plot series NAME (with --points): offered load against
                         throughput and p99 (live: open-loop msg/s; group: group msg/s against deliveries/s)
  --note TEXT            a note in each report section and plot point, e.g. "loaded machine, preliminary"
  --points FILE          keep each plotted run's point in FILE (JSON, one point per series and offered load) and
                         re-render the plot FILE.svg from all of them (node test/pressure/dist/plot-main.js FILE)
  --report FILE          write/replace this scenario's section in a Markdown file (e.g. docs/BENCHMARKS.md)
  --label NAME           scenario name (section title in the report)
  --scenarios FILE|default|sweep
                         run several scenarios in sequence (one cluster, one report section each);
                         FILE has lines "NAME OPTIONS..." (# comments); options given on the command
                         line apply to every scenario and override its own; the users of scenario NAME
                         are NAME-0001... unless --users-prefix is given; "sweep" is the plot's offered-load
                         points (many-conns at 5k..30k msg/s, group-2000-default at 2/20/100 msg/s); "default" is:
${DEFAULT_SCENARIOS_TEXT.trimEnd().split('\n').map((l) => `                           ${l}`).join('\n')}
  --help

Exit code: 0 ok, 1 lost or duplicated (or misrouted) messages, 2 setup or usage error.
`;

function intIn(problems: string[], name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    problems.push(`--${name}: expected an integer in ${min}..${max}, got ${JSON.stringify(raw)}`);
    return min;
  }
  return n;
}

function numberIn(problems: string[], name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    problems.push(`--${name}: expected a number in ${min}..${max}, got ${JSON.stringify(raw)}`);
    return min;
  }
  return n;
}

export function parseGateways(problems: string[], raw: string): GatewayAddr[] {
  const out: GatewayAddr[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(item);
    const port = m ? Number(m[2]) : NaN;
    if (!m || !Number.isInteger(port) || port < 1 || port > 0xffff) {
      problems.push(`--gateways: expected host:port, got ${JSON.stringify(item)}`);
      continue;
    }
    out.push({ host: m[1], port });
  }
  if (out.length === 0 && problems.length === 0) problems.push('--gateways: empty list');
  return out;
}

const FIRST_SOURCE_ADDR = 2;

/** --source-addrs: a list of IPv4 addresses, or a count of 127.0.0.2, 127.0.0.3, ... */
export function parseSourceAddrs(problems: string[], raw: string | undefined, conns: number): string[] {
  const countOf = (n: number): string[] => Array.from({ length: n }, (_, i) => `127.0.0.${FIRST_SOURCE_ADDR + i}`);
  if (raw === undefined) return countOf(Math.min(253, Math.max(2, Math.ceil(conns / IDLE_CONNS_PER_ADDR))));
  if (/^\s*\d+\s*$/.test(raw)) return countOf(intIn(problems, 'source-addrs', raw, 1, 253));
  const addrs = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = addrs.filter((a) => !isIPv4(a));
  if (addrs.length === 0 || bad.length > 0) problems.push(`--source-addrs: expected a count or IPv4 addresses such as 127.0.0.2,127.0.0.3, got ${JSON.stringify(raw)}`);
  else if (new Set(addrs).size !== addrs.length) problems.push(`--source-addrs: an address is listed twice in ${JSON.stringify(raw)}`);
  return addrs;
}

function parseRaw(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'login-url': { type: 'string', default: 'http://127.0.0.1:8080' },
        gateways: { type: 'string' },
        transport: { type: 'string', default: 'tcp' },
        mode: { type: 'string', default: 'live' },
        pairs: { type: 'string', default: '50' },
        messages: { type: 'string', default: '200' },
        page: { type: 'string', default: '40' },
        rate: { type: 'string' },
        members: { type: 'string', default: '2000' },
        users: { type: 'string', default: '1000' },
        concurrency: { type: 'string', default: '200' },
        conns: { type: 'string', default: '5000' },
        'source-addrs': { type: 'string' },
        'heap-snapshot': { type: 'string' },
        'wrong-ratio': { type: 'string', default: '0.1' },
        'wrong-passwords': { type: 'string', default: 'same' },
        online: { type: 'string', default: 'all' },
        senders: { type: 'string', default: '4' },
        'group-push-control': { type: 'string', default: 'on' },
        window: { type: 'string', default: '64' },
        duration: { type: 'string' },
        warmup: { type: 'string', default: '3' },
        drain: { type: 'string', default: '5' },
        size: { type: 'string', default: '0' },
        'ack-timeout': { type: 'string', default: '10000' },
        'users-prefix': { type: 'string', default: 'bench' },
        password: { type: 'string', default: 'tiertalk' },
        'create-users': { type: 'string' },
        report: { type: 'string' },
        label: { type: 'string' },
        'spawn-cluster': { type: 'boolean', default: false },
        scenarios: { type: 'string' },
        'msg-rate-limit': { type: 'string' },
        'via-login': { type: 'boolean', default: false },
        'plot-series': { type: 'string' },
        points: { type: 'string' },
        note: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    throw new UsageError([err instanceof Error ? err.message : String(err)]);
  }
}

/** Parses argv (without node and script); throws UsageError. `help: true` when --help was given. */
export function parseOptions(argv: string[]): PressureOptions | { help: true } {
  const parsed = parseRaw(argv);
  const v = parsed.values;
  if (v.help) return { help: true };

  const problems: string[] = [];
  const warnings: string[] = [];
  const transport = v.transport;
  if (transport !== 'tcp' && transport !== 'ws') problems.push(`--transport: expected tcp or ws, got ${JSON.stringify(transport)}`);
  const mode = v.mode;
  if (mode !== 'live' && mode !== 'offline' && mode !== 'group' && mode !== 'logins' && mode !== 'idle-conns') {
    problems.push(`--mode: expected live, offline, group, logins or idle-conns, got ${JSON.stringify(mode)}`);
  }
  const logins = mode === 'logins';
  const idle = mode === 'idle-conns';
  const conns = intIn(problems, 'conns', v.conns, 1, 1_000_000);
  const sourceAddrs = parseSourceAddrs(problems, v['source-addrs'], conns);
  const users = intIn(problems, 'users', v.users, 1, 100_000);
  const concurrency = intIn(problems, 'concurrency', v.concurrency, 1, 10_000);
  const wrongRatio = numberIn(problems, 'wrong-ratio', v['wrong-ratio'], 0, 1);
  const wrongPasswords = v['wrong-passwords'];
  if (wrongPasswords !== 'same' && wrongPasswords !== 'distinct') problems.push(`--wrong-passwords: expected same or distinct, got ${JSON.stringify(wrongPasswords)}`);
  const group = mode === 'group';
  const members = intIn(problems, 'members', v.members, 2, 100_000);
  const senders = intIn(problems, 'senders', v.senders, 1, 1000);
  if (group && senders > members) problems.push(`--senders ${senders} is more than --members ${members}`);
  const online = v.online;
  if (online !== 'all' && online !== 'none') problems.push(`--online: expected all or none, got ${JSON.stringify(online)}`);
  const pushControl = v['group-push-control'];
  if (pushControl !== 'on' && pushControl !== 'off') problems.push(`--group-push-control: expected on or off, got ${JSON.stringify(pushControl)}`);
  const pairs = intIn(problems, 'pairs', v.pairs, 1, 10_000);
  const messages = intIn(problems, 'messages', v.messages, 1, 100_000);
  const page = intIn(problems, 'page', v.page, 1, MAX_PAGE);
  const rate = numberIn(problems, 'rate', v.rate ?? (group ? '1' : '5000'), 0, 1_000_000);
  const window = intIn(problems, 'window', v.window, 1, 30_000);
  let durationSec = numberIn(problems, 'duration', v.duration ?? (idle ? String(IDLE_DEFAULT_HOLD_SEC) : '20'), 0.1, Number.MAX_SAFE_INTEGER);
  if (durationSec > MAX_DURATION_SEC) {
    warnings.push(`--duration ${durationSec} capped at ${MAX_DURATION_SEC} s`);
    durationSec = MAX_DURATION_SEC;
  }
  if (group && durationSec > MAX_GROUP_DURATION_SEC) {
    warnings.push(`--duration ${durationSec} capped at ${MAX_GROUP_DURATION_SEC} s in --mode group`);
    durationSec = MAX_GROUP_DURATION_SEC;
  }
  const warmupSec = numberIn(problems, 'warmup', v.warmup, 0, MAX_DURATION_SEC);
  const drainSec = numberIn(problems, 'drain', v.drain, 0, 600);
  const size = intIn(problems, 'size', v.size, 0, MAX_BODY_BYTES);
  const ackTimeoutMs = intIn(problems, 'ack-timeout', v['ack-timeout'], 1, 600_000);
  const usersPrefix = v['users-prefix'];
  // IMUser.name is varchar(32); the suffix takes at least 4 digits.
  if (!/^[A-Za-z0-9_.-]{1,27}$/.test(usersPrefix)) problems.push(`--users-prefix: 1..27 characters of [A-Za-z0-9_.-], got ${JSON.stringify(usersPrefix)}`);
  const gateways = v.gateways === undefined ? undefined : parseGateways(problems, v.gateways);
  const spawnCluster = v['spawn-cluster'];
  const rawRateLimit = v['msg-rate-limit']?.trim();
  const msgRateLimit =
    rawRateLimit === undefined ? 0 : rawRateLimit === 'default' ? 'default' : intIn(problems, 'msg-rate-limit', rawRateLimit, 0, 1_000_000);
  const viaLogin = v['via-login'];
  // Without --spawn-cluster the clients ask --login-url already, unless --gateways names the gateways.
  if (viaLogin && gateways) problems.push('--via-login and --gateways exclude each other');
  if (viaLogin && mode !== 'live') problems.push('--via-login applies to --mode live (the other modes place their clients themselves)');
  const plotSeries = v['plot-series']?.trim();
  if (plotSeries !== undefined && !/^[A-Za-z0-9_. :-]{1,40}$/.test(plotSeries)) problems.push(`--plot-series: 1..40 characters of [A-Za-z0-9_. :-], got ${JSON.stringify(plotSeries)}`);
  if (plotSeries !== undefined && mode !== 'live' && mode !== 'group') problems.push('--plot-series applies to --mode live and --mode group');
  if (v.note !== undefined && /[\r\n]|-->/.test(v.note)) problems.push('--note: one line of text');
  if (v.points !== undefined && !v.points.endsWith('.json')) problems.push(`--points: expected a .json file name, got ${JSON.stringify(v.points)}`);
  // `default` is what a running cluster has anyway; a number configures spawned gateways only.
  if (!spawnCluster && typeof msgRateLimit === 'number' && rawRateLimit !== undefined) problems.push('--msg-rate-limit only applies with --spawn-cluster');
  if (idle && !spawnCluster && !gateways) problems.push('--mode idle-conns needs --spawn-cluster (gateway RSS from their pids) or --gateways');
  if (v['heap-snapshot'] !== undefined && !(idle && spawnCluster)) problems.push('--heap-snapshot needs --mode idle-conns with --spawn-cluster (the gateways\' inspector)');
  if (spawnCluster && gateways) problems.push('--spawn-cluster and --gateways exclude each other');
  if (spawnCluster && v['create-users'] !== undefined) problems.push('--spawn-cluster creates its users itself; drop --create-users');
  if (v['create-users'] !== undefined && !/^mysql:\/\//.test(v['create-users'])) {
    problems.push(`--create-users: expected a mysql:// URL, got ${JSON.stringify(v['create-users'])}`);
  }
  if (v.scenarios !== undefined && v.scenarios.trim() === '') problems.push('--scenarios: expected a file name or "default"');
  if (v.scenarios !== undefined && v.label !== undefined) problems.push('--label and --scenarios exclude each other (each scenario is labelled by its name)');
  if (v.label !== undefined && (v.label.trim() === '' || /[\r\n]|-->/.test(v.label))) problems.push('--label: one line of text');
  if (problems.length > 0) throw new UsageError(problems);

  const kind = transport === 'ws' ? 'ws' : 'tcp';
  const load = rate > 0 ? `${rate} msg/s` : `window ${window}`;
  const offline = mode === 'offline';
  const defaultLabel = idle
    ? `idle-conns: ${conns} connections from ${sourceAddrs.length} addresses, idle ${durationSec} s`
    : logins
    ? `logins: ${concurrency} in flight, ${users} users, ${Math.round(wrongRatio * 100)} % wrong (${wrongPasswords === 'distinct' ? 'distinct' : 'same'}), ${durationSec} s`
    : group
    ? `group: ${members} members, online ${online === 'none' ? 'none' : 'all'}, ${senders} senders, ${rate > 0 ? `${rate} msg/s` : `window ${window} each`}, ${durationSec} s`
    : offline
      ? `offline: ${pairs} senders × ${messages} messages, pages of ${page}, ${kind}`
      : `${pairs} pairs, ${load}, ${durationSec} s, ${kind}`;
  return {
    mode: idle ? 'idle-conns' : logins ? 'logins' : group ? 'group' : offline ? 'offline' : 'live',
    loginUrl: v['login-url'],
    gateways,
    transport: kind,
    pairs,
    messages,
    page,
    rate,
    window,
    durationSec,
    warmupSec,
    drainSec,
    size,
    ackTimeoutMs,
    usersPrefix,
    password: v.password,
    createUsers: v['create-users'],
    report: v.report,
    label: v.label?.trim() ?? defaultLabel,
    spawnCluster,
    scenarios: v.scenarios,
    msgRateLimit,
    viaLogin,
    plotSeries,
    points: v.points,
    note: v.note?.trim() || undefined,
    members,
    online: online === 'none' ? 'none' : 'all',
    senders,
    groupPushControl: pushControl !== 'off',
    users,
    concurrency,
    wrongRatio,
    wrongPasswords: wrongPasswords === 'distinct' ? 'distinct' : 'same',
    conns,
    sourceAddrs,
    heapSnapshotDir: v['heap-snapshot'],
    warnings,
  };
}

/** The users of a run: prefix + 4-digit (or wider) 1-based index. */
export function userNames(prefix: string, count: number): string[] {
  const width = Math.max(4, String(count).length);
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
}
