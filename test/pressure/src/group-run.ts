// --mode group: the seed's group load test (seeds/001: a 2,000-member group,
// members online or not, N msg/s posted, deliveries/s, CPU and memory).
// One TMP group of --members users is created through IMGroupCreateReq
// (docs/FLOWS.md §10.3); --senders of them post group text (docs/FLOWS.md §10.2) at
// --rate for --duration; every online member counts the IMMsgData frames it
// gets (each copy, before any dedupe). After a drain the creator pages through
// the group's history (docs/FLOWS.md §7.2, session type GROUP) to check that every
// ACKed message was stored. CPU and RSS of the cluster's processes are sampled
// from /proc once per second while sending and draining.
// Members stay logged in across consecutive group scenarios (see `pool`).
import { USER_HZ, cpuBetween, snapshotCpu, type CpuUsage } from './proc-cpu';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { SessionType, isClientError, type TeamTalkClient } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { encodeBody, parseBody } from './body';
import { GroupLedger, parseProcStatTicks, parseVmRssBytes, tierUsage, type GroupSummary, type ProcSample, type TierUsage } from './group-stats';
import { nextPageBegin } from './offline-stats';
import { userNames } from './options';
import { loginAll, mapLimit, sleep, type Peer, type RunEnv } from './run';
import { readGatewayRefusals, refusalsBetween } from './gateway-refusals';

export interface ClusterProcess {
  name: string;
  /** Tier: db-proxy, route, msg, login. */
  service: string;
  pid: number | undefined;
  /** Where it serves /metrics: the gateways' refusal reasons are read there. */
  metricsPort?: number;
}

export interface GroupRunEnv extends RunEnv {
  /** MySQL of the cluster: the members' ids are read from IMUser. */
  mysqlUrl: string;
  /** Processes to sample (a spawned cluster's); empty = no CPU/RSS figures. */
  processes: ClusterProcess[];
}

export interface GroupResult {
  summary: GroupSummary;
  tiers: TierUsage[];
  scenario: string;
  interrupted: string | undefined;
  toolCpuPercent: number;
  /** Spawned cluster: CPU of each process and the tool from the start of sending to the end of the drain, per delivery. */
  cpu?: CpuUsage;
  /** Spawned cluster: why the gateways answered sends with msg_id 0 (reason → count), from their /metrics. */
  gatewayRefusals?: Map<string, number>;
}

const GROUP = SessionType.SESSION_TYPE_GROUP;
const CREATE_TIMEOUT_MS = 60_000;
const HISTORY_PAGE = 100;
const SAMPLE_MS = 1000;
const TICK_MS = 5;
const QUIET_MS = 1500;
const CLOSE_CONCURRENCY = 200;
const LOGIN_CHUNKS = 4;

interface IdRow extends RowDataPacket {
  id: number;
  name: string;
}

async function userIds(mysqlUrl: string, names: readonly string[]): Promise<number[]> {
  const conn = await createConnection(mysqlUrl);
  try {
    const [rows] = await conn.query<IdRow[]>('SELECT id, name FROM IMUser WHERE status = 0 AND name IN (?)', [names]);
    const byName = new Map(rows.map((r) => [r.name, r.id]));
    return names.map((n) => {
      const id = byName.get(n);
      if (id === undefined) throw new Error(`user ${n} is missing from IMUser`);
      return id;
    });
  } finally {
    await conn.end();
  }
}

/** Samples /proc/<pid>/stat and status of each process once per second until stopped. */
class ProcSampler {
  private readonly series: { tier: string; pid: number; samples: ProcSample[] }[];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    processes: readonly ClusterProcess[],
    private readonly warn: (line: string) => void,
  ) {
    this.series = processes.flatMap((p) => (p.pid === undefined ? [] : [{ tier: p.service, pid: p.pid, samples: [] }]));
  }

  async start(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
  }

  async stop(): Promise<TierUsage[]> {
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await sleep(10);
    await this.sample();
    return tierUsage(this.series, USER_HZ);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await Promise.all(
        this.series.map(async (s) => {
          try {
            const [stat, status] = await Promise.all([readFile(`/proc/${s.pid}/stat`, 'utf8'), readFile(`/proc/${s.pid}/status`, 'utf8')]);
            const ticks = parseProcStatTicks(stat);
            const rss = parseVmRssBytes(status);
            if (ticks !== undefined && rss !== undefined) s.samples.push({ atMs: performance.now(), ticks, rssBytes: rss });
          } catch (err) {
            this.warn(`cannot sample pid ${s.pid}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }),
      );
    } finally {
      this.busy = false;
    }
  }
}

async function closeAll(peers: readonly Peer[]): Promise<void> {
  await mapLimit(peers, CLOSE_CONCURRENCY, async ({ client }) => {
    if (client.isClosed) return;
    try {
      await client.logout();
    } catch (err) {
      if (!isClientError(err)) throw err;
    } finally {
      client.close();
    }
  });
}

/**
 * Members stay logged in from one group scenario to the next (same cluster,
 * same users): 2,000 logins take half a minute on a small machine, longer
 * than the scenario itself. closeGroupPeers() logs them out at the end.
 */
let pool: { key: string; peers: Peer[] } | undefined;

function poolKey(env: RunEnv, names: readonly string[]): string {
  const where = env.endpoints.kind === 'login' ? env.endpoints.loginUrl : env.endpoints.gateways.map((g) => `${g.host}:${g.port}`).join(',');
  return `${where}|${env.opts.transport}|${names.join(',')}`;
}

/** Logs out the members kept for the next group scenario. */
export async function closeGroupPeers(): Promise<void> {
  const peers = pool?.peers ?? [];
  pool = undefined;
  await closeAll(peers);
}

async function onlinePeers(env: RunEnv, names: readonly string[]): Promise<Peer[]> {
  const key = poolKey(env, names);
  if (pool && pool.key === key && pool.peers.every((p) => !p.client.isClosed)) return pool.peers;
  await closeGroupPeers();
  // loginAll logs in 32 at a time; a few chunks side by side.
  const chunk = Math.ceil(names.length / LOGIN_CHUNKS);
  const chunks = await Promise.allSettled(
    Array.from({ length: LOGIN_CHUNKS }, (_, c) => loginAll(env, names.slice(c * chunk, (c + 1) * chunk), (i) => c * chunk + i)),
  );
  const failedChunk = chunks.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failedChunk) {
    // loginAll closed its own chunk's clients; close the chunks that made it.
    for (const r of chunks) if (r.status === 'fulfilled') for (const p of r.value) p.client.close();
    throw failedChunk.reason;
  }
  const peers = chunks.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  pool = { key, peers };
  return peers;
}

/** Every message id of the group's history, newest first, paging down to id 1. */
async function historyIds(client: TeamTalkClient, groupId: number, timeoutMs: number): Promise<number[]> {
  const ids: number[] = [];
  let begin: number | undefined = 0;
  while (begin !== undefined) {
    const page = await client.messageList(GROUP, groupId, begin, HISTORY_PAGE, { timeoutMs });
    for (const m of page.msgList) ids.push(m.msgId);
    begin = nextPageBegin(0, page.msgList, begin);
  }
  return ids;
}

export async function runGroup(env: GroupRunEnv): Promise<GroupResult> {
  const o = env.opts;
  const names = userNames(o.usersPrefix, o.members);
  const ids = await userIds(env.mysqlUrl, names);
  const onlineCount = o.online === 'all' ? o.members : o.senders;
  const cpuAtStart = process.cpuUsage();
  const t0 = performance.now();
  const runId = randomBytes(4).toString('hex');
  const ledger = new GroupLedger(o.members, onlineCount);
  let interrupted: string | undefined;

  const loginStart = performance.now();
  const onlineNames = names.slice(0, onlineCount);
  const peers = await onlinePeers(env, onlineNames);
  env.out(`${peers.length} members online (${((performance.now() - loginStart) / 1000).toFixed(1)} s to log in or reuse)\n`);
  const sampler = new ProcSampler(env.processes, env.warn);
  const detach: (() => void)[] = [];
  try {
    const creator = peers[0].client;
    const created = await creator.groups.createGroup(`bench ${o.label}`.slice(0, 60), '', ids, { timeoutMs: CREATE_TIMEOUT_MS });
    const groupId = created.groupId;
    env.out(`group ${groupId} created with ${ids.length} members\n`);

    let sendStart = performance.now();
    peers.forEach((p, member) => {
      const onPdu = (frame: { commandId: number }): void => {
        if (frame.commandId === CID.CID_MSG_DATA) ledger.recordRawFrame();
      };
      const onMessage = (msg: IM.Message.IMMsgData): void => {
        if (msg.toSessionId !== groupId) return;
        const body = parseBody(msg.msgData);
        if (!body || body.runId !== runId) return;
        const now = performance.now();
        ledger.recordDelivery(member, msg.msgId, now - body.sentAtMs, (now - sendStart) / 1000 + 1, msg.fromUserId === p.userId);
      };
      p.client.on('pdu', onPdu);
      p.client.on('message', onMessage);
      detach.push(() => {
        p.client.off('pdu', onPdu);
        p.client.off('message', onMessage);
      });
    });

    await sampler.start();
    const refusalsFrom = env.processes.length > 0 ? await readGatewayRefusals(env.processes) : undefined;
    const cpuFrom = env.processes.length > 0 ? { at: performance.now(), readings: snapshotCpu(env.processes) } : undefined;
    sendStart = performance.now();
    const deadline = sendStart + o.durationSec * 1000;
    const senders = peers.slice(0, o.senders);
    const inFlight = new Set<Promise<void>>();
    let seq = 0;
    const sendOne = (s: number): Promise<void> => {
      const mySeq = seq++;
      ledger.recordSend();
      const body = encodeBody({ runId, sender: s, seq: mySeq, sentAtMs: performance.now() }, o.size);
      return senders[s].client.groups.sendGroupText(groupId, body, { timeoutMs: o.ackTimeoutMs }).then(
        (ack) => ledger.recordAck(ack.msgId, ack.ackMs),
        (err: unknown) => {
          ledger.recordFailure();
          if (!isClientError(err)) env.warn(`send failed: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    };
    if (o.rate > 0) {
      // Open loop: message k is due at k / rate, senders in turn.
      let k = 0;
      while (!env.stop.aborted && performance.now() < deadline) {
        const due = Math.floor(((performance.now() - sendStart) / 1000) * o.rate) + 1;
        while (k < due) {
          const p = sendOne(k % senders.length);
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
          k += 1;
        }
        await sleep(TICK_MS);
      }
    } else {
      // Closed loop: `window` unACKed messages per sender.
      await Promise.all(
        senders.flatMap((_, s) =>
          Array.from({ length: o.window }, async () => {
            while (!env.stop.aborted && performance.now() < deadline && !senders[s].client.isClosed) await sendOne(s);
          }),
        ),
      );
    }
    ledger.sendingSec = (performance.now() - sendStart) / 1000;
    if (env.stop.aborted) interrupted = 'stopped by signal while sending';
    await Promise.all(inFlight);

    // Drain: until every expected copy arrived or nothing arrived for QUIET_MS, at most --drain s.
    const drainEnd = performance.now() + o.drainSec * 1000;
    let lastCount = -1;
    let lastChange = performance.now();
    while (!env.hurry.aborted && performance.now() < drainEnd) {
      const s = ledger.summary();
      if (o.online === 'all' && s.delivered - s.deliveredUnacked >= s.expectedDeliveries) break;
      const count = s.delivered + s.duplicates;
      if (count !== lastCount) {
        lastCount = count;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > QUIET_MS) break;
      await sleep(200);
    }
    const tiers = await sampler.stop();
    const cpuTo = cpuFrom ? { at: performance.now(), readings: snapshotCpu(env.processes) } : undefined;
    const gatewayRefusals = refusalsFrom ? refusalsBetween(refusalsFrom, await readGatewayRefusals(env.processes)) : undefined;

    ledger.recordHistory(await historyIds(creator, groupId, o.ackTimeoutMs));
    const summary = ledger.summary();
    const cpu = process.cpuUsage(cpuAtStart);
    const toolCpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;
    const where = env.endpoints.kind === 'login' ? `via login server ${env.endpoints.loginUrl}` : `gateways ${env.endpoints.gateways.map((g) => `${g.host}:${g.port}`).join(', ')}`;
    const load = o.rate > 0 ? `${o.rate} msg/s in all (open loop)` : `closed loop, ${o.window} unACKed per sender`;
    const scenario =
      `one TMP group of ${o.members} members (created with IMGroupCreateReq), ${o.online === 'all' ? `all ${o.members} online` : `only the ${o.senders} senders online`}, ` +
      `${o.senders} senders post group text at ${load} for ${o.durationSec} s, over ${o.transport}, ${where}, clients spread over the gateways; ` +
      `drain up to ${o.drainSec} s; then the group's history is paged through (${HISTORY_PAGE} a page)`;
    const cpuUsage: CpuUsage | undefined =
      cpuFrom && cpuTo
        ? { rows: cpuBetween(cpuFrom.readings, cpuTo.readings), wallSec: (cpuTo.at - cpuFrom.at) / 1000, units: summary.delivered, unitName: 'delivery' }
        : undefined;
    return { summary, tiers, scenario, interrupted, toolCpuPercent, cpu: cpuUsage, gatewayRefusals };
  } finally {
    for (const d of detach) d();
    await sampler.stop().catch(() => []);
  }
}
