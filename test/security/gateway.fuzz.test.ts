// Fuzzing every command the msg gateway handles, against a real cluster
// (issue 11 part 7): hostile clients before and after login, over TCP and
// WebSocket, while a well-behaved pair chats on the same gateway. The record
// of what the fuzzer saw goes to .run/test-logs/gateway-fuzz-report.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import fc from 'fast-check';
import type protobuf from 'protobufjs';
import type { TeamTalkClient } from '@tiertalk/client';
import { CID } from '@tiertalk/proto';
import { Cluster, flushTestRedis, prepareTestDatabase, repoRoot } from '@tiertalk/testkit';
import type { GatewayInfo, InstanceInfo } from '@tiertalk/testkit';
import type { HandlerTable } from '../../services/msg/src/dispatcher';
import { groupHandlers } from '../../services/msg/src/handlers/group';
import { loginHandlers } from '../../services/msg/src/handlers/login';
import { messageHandlers } from '../../services/msg/src/handlers/message';
import { otherHandlers } from '../../services/msg/src/handlers/other';
import { fileHandlers } from '../../services/msg/src/handlers/file';
import { pushHandlers } from '../../services/msg/src/handlers/push';
import { recallHandlers } from '../../services/msg/src/handlers/recall';
import { sessionHandlers } from '../../services/msg/src/handlers/session';
import { userHandlers } from '../../services/msg/src/handlers/user';
import { createUser, DEMO_PASSWORD, loggedIn, testDbPool, userId } from '../e2e/helpers';
import { chatUntil } from './fuzz/chatting-pair';
import { fuzzFrames } from './fuzz/frames';
import type { FuzzFrame } from './fuzz/frames';
import { loadClientSchema, typeOfDecoder } from './fuzz/hostile-bodies';
import type { IdPools } from './fuzz/hostile-bodies';
import { runLane } from './fuzz/lane';
import type { LaneReport } from './fuzz/lane';
import { summariseLog } from './fuzz/log-summary';
import { MiB, RssSampler } from './fuzz/process-watch';

// The tables main.ts hands the Dispatcher; checked against main.ts below so a new table is not missed.
const TABLES: Record<string, HandlerTable> = { loginHandlers, otherHandlers, messageHandlers, sessionHandlers, userHandlers, pushHandlers, groupHandlers, recallHandlers, fileHandlers };

// Bounded in time and count: the whole file stays well under two minutes on a 2-core machine.
const FUZZ_MS = Number(process.env.TT_FUZZ_MS ?? 40_000);
const FRAMES_PER_LANE = Number(process.env.TT_FUZZ_FRAMES ?? 1_500);
const SEED = Number(process.env.TT_FUZZ_SEED ?? Date.now() % 1_000_000_007);
// Reproduction: fuzz only these command ids (e.g. TT_FUZZ_COMMANDS=0x301,0x405).
const FLOOD = process.env.TT_FUZZ_FLOOD === '1';
const ONLY = process.env.TT_FUZZ_COMMANDS?.split(',').map((c) => Number(c.trim()));
const LOGGED_IN_LANES = Number(process.env.TT_FUZZ_LANES ?? 3);
const PRE_LOGIN_LANES = Number(process.env.TT_FUZZ_PRE_LOGIN_LANES ?? 2);
// A leak or an unbounded buffer of hostile input breaks these; 1 MiB frames from ~10 connections fit.
const GATEWAY_HEAP_MIB = Number(process.env.TT_FUZZ_GATEWAY_HEAP_MIB ?? 96);
const PEAK_RSS_GROWTH = 160 * MiB;
const FINAL_RSS_GROWTH = 128 * MiB;

jest.setTimeout(FUZZ_MS + 90_000);

let cluster: Cluster;
let pool: Pool;
let gw: GatewayInfo;
const clients: TeamTalkClient[] = [];

beforeAll(async () => {
  await prepareTestDatabase();
  await flushTestRedis();
  cluster = await Cluster.start({
    dbProxy: 1,
    route: 1,
    msg: 1,
    serviceEnv: {
      // A small heap: a gateway that keeps what hostile clients send runs out of it and dies.
      msg: { NODE_OPTIONS: `--max-old-space-size=${GATEWAY_HEAP_MIB}` },
      ...(process.env.TT_FUZZ_DB_DEBUG ? { 'db-proxy': { TT_LOG_LEVEL: 'debug' } } : {}),
    },
  });
  [gw] = cluster.gateways();
  pool = testDbPool();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
  await pool?.end();
});

function handledCommands(): Map<number, protobuf.Type> {
  const root = loadClientSchema();
  const out = new Map<number, protobuf.Type>();
  for (const table of Object.values(TABLES)) {
    for (const [cid, handler] of Object.entries(table)) {
      const type = typeOfDecoder(root, handler.decode);
      if (!type) throw new Error(`no schema type for the decoder of command 0x${Number(cid).toString(16)}`);
      out.set(Number(cid), type);
    }
  }
  return out;
}

function pids(): Map<string, number | undefined> {
  return new Map(cluster.instanceInfo().map((i: InstanceInfo) => [i.name, i.pid]));
}

it('covers every handler table the gateway dispatches to', () => {
  const main = readFileSync(path.join(repoRoot, 'services/msg/src/main.ts'), 'utf8');
  const listed = /new Dispatcher\([^[]*\[([^\]]*)\]/.exec(main)?.[1].split(',').map((s) => s.trim()).filter(Boolean);
  expect(listed?.sort()).toEqual(Object.keys(TABLES).sort());
});

it('keeps every process up, gateway memory bounded and a chatting pair served while hostile clients fuzz every command', async () => {
  const allHandled = handledCommands();
  const handled = ONLY ? new Map([...allHandled].filter(([cid]) => ONLY.includes(cid) || cid === CID.CID_LOGIN_REQ_LOGINOUT)) : allHandled;
  const fuzzUsers: Array<{ name: string; id: number }> = [];
  for (let i = 1; i <= LOGGED_IN_LANES + 1; i += 1) {
    const name = `fuzz${i}`;
    fuzzUsers.push({ name, id: await createUser(pool, name) });
  }
  const alice = await loggedIn(gw, 'alice');
  const bob = await loggedIn(gw, 'bob');
  clients.push(alice, bob);
  const [groups] = await pool.query<RowDataPacket[]>('SELECT id FROM IMGroup ORDER BY id LIMIT 8');
  const ids: IdPools = {
    users: [alice.userId ?? 0, bob.userId ?? 0, await userId(pool, 'carol'), ...fuzzUsers.map((u) => u.id), 999_999],
    groups: groups.map((r) => Number(r.id)),
  };
  const frames = fuzzFrames(handled, ids);
  // A logout ends the session, so logged-in lanes send one only as their last frame.
  const withoutLogout = new Map([...handled].filter(([cid]) => cid !== CID.CID_LOGIN_REQ_LOGINOUT));
  const loggedInFrames = fuzzFrames(withoutLogout, ids);
  const logouts = fc.sample(fuzzFrames(new Map([[CID.CID_LOGIN_REQ_LOGINOUT, handled.get(CID.CID_LOGIN_REQ_LOGINOUT) as protobuf.Type]]), ids), {
    numRuns: LOGGED_IN_LANES + 1,
    seed: SEED,
  }).map((f) => (f.kind === 'unknown-command' ? { ...f, commandId: CID.CID_LOGIN_REQ_LOGINOUT } : f));

  const before = pids();
  const gwPid = cluster.instanceInfo().find((i) => i.service === 'msg')?.pid ?? 0;
  const rss = new RssSampler(gwPid, 200);
  const baseline = rss.peak;
  const deadline = Date.now() + FUZZ_MS;
  const started = Date.now();

  const lanes: Array<Promise<LaneReport>> = [];
  for (let i = 0; i < LOGGED_IN_LANES + 1; i += 1) {
    lanes.push(
      runLane({
        name: `logged-in-${i + 1}`,
        port: i === LOGGED_IN_LANES ? gw.wsPort : gw.tcpPort,
        transport: i === LOGGED_IN_LANES ? 'ws' : 'tcp',
        login: { user: fuzzUsers[i].name, password: DEMO_PASSWORD },
        frames: loggedInFrames,
        seed: SEED + i,
        maxFrames: FRAMES_PER_LANE,
        deadline,
        finalFrame: logouts[i],
        flood: FLOOD,
      }),
    );
  }
  for (let i = 0; i < PRE_LOGIN_LANES; i += 1) {
    const ws = i === PRE_LOGIN_LANES - 1;
    lanes.push(
      runLane({
        name: `pre-login-${i + 1}`,
        port: ws ? gw.wsPort : gw.tcpPort,
        transport: ws ? 'ws' : 'tcp',
        frames,
        seed: SEED + 100 + i,
        maxFrames: FRAMES_PER_LANE,
        deadline,
        breakFraming: true,
      }),
    );
  }
  const fuzzing = Promise.all(lanes);
  const chat = await chatUntil(alice, bob, fuzzing);
  const reports = await fuzzing;
  const fuzzMs = Date.now() - started;
  const peak = rss.peak;
  const final = rss.stop();

  const logs = Object.fromEntries(cluster.instanceInfo().map((i) => [i.name, summariseLog(cluster.logTail(i.name, 1_000_000))]));
  const coverage = new Map<number, number>();
  for (const r of reports) for (const [cid, n] of r.sentLoggedIn) coverage.set(cid, (coverage.get(cid) ?? 0) + n);
  const record = {
    seed: SEED,
    fuzzMs,
    framesSent: reports.reduce((n, r) => n + r.sent, 0),
    lanes: reports.map(({ recent, sentLoggedIn, ...r }) => ({ ...r, commandsLoggedIn: sentLoggedIn.size })),
    neverSentLoggedIn: [...handled.keys()].filter((cid) => !coverage.has(cid)).map((c) => `0x${c.toString(16)}`),
    gatewayRssMiB: { baseline: baseline / MiB, peak: peak / MiB, final: final / MiB, samples: rss.count, everyFiveSeconds: rss.series },
    chat: { rounds: chat.rounds, failures: chat.failures, medianRoundMs: median(chat.roundMs), maxRoundMs: Math.max(0, ...chat.roundMs) },
    logs,
    lastFramesOfEachLane: Object.fromEntries(reports.map((r) => [r.name, r.recent.slice(-4).map(frameText)])),
  };
  const out = path.join(repoRoot, '.run', 'test-logs', 'gateway-fuzz-report.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(record, null, 2));
  const context = `seed ${SEED} (replay: TT_FUZZ_SEED=${SEED}); record in ${out}`;

  // Every service process is still the one started: none died, none was restarted.
  const after = pids();
  for (const info of cluster.instanceInfo()) expect({ name: info.name, alive: info.alive, pid: after.get(info.name), context }).toEqual({ name: info.name, alive: true, pid: before.get(info.name), context });

  // The chatting pair was served throughout: every ACK and every delivery arrived.
  expect({ failures: chat.failures, context }).toEqual({ failures: [], context });
  expect(chat.rounds).toBeGreaterThanOrEqual(5);

  // Gateway memory stayed bounded.
  expect(peak - baseline).toBeLessThan(PEAK_RSS_GROWTH);
  expect(final - baseline).toBeLessThan(FINAL_RSS_GROWTH);

  // Every handled command met hostile bodies on a logged-in connection.
  expect({ neverSentLoggedIn: record.neverSentLoggedIn, context }).toEqual({ neverSentLoggedIn: [], context });
  // No handler threw on hostile input (the dispatcher catches and logs it as an error), and no
  // service logged an error or wrote anything but log records (a crash's stack trace).
  const errors = Object.entries(logs).flatMap(([name, l]) => [
    ...Object.entries(l.counts).filter(([k]) => k.startsWith('error') || k.startsWith('fatal')).map(([k, n]) => `${name}: ${n} × ${k}`),
    ...l.unstructured.map((line) => `${name}: ${line}`),
  ]);
  expect({ errors, context }).toEqual({ errors: [], context });
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)];
}

function frameText(f: FuzzFrame): string {
  const hex = Buffer.from(f.body.subarray(0, 48)).toString('hex');
  return `sid ${f.serviceId} cid 0x${f.commandId.toString(16)} seq ${f.seqNum} ${f.kind} ${f.body.length}B ${hex}${f.body.length > 48 ? '…' : ''}`;
}
