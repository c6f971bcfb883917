// One hostile client ("lane"): sends batches of fuzzed frames on one connection,
// each batch followed by a heartbeat that must come back (the gateway handles a
// connection's frames in order, so the echo paces the lane by the gateway's own
// progress). A connection the gateway closes is replaced; a logged-in lane logs
// in again, first with hostile login fields, then as a plain PC client.
import fc from 'fast-check';
import { TeamTalkClient } from '@tiertalk/client';
import type { TransportKind } from '@tiertalk/client';
import { encodeFrame } from '@tiertalk/pdu';
import { CID, IM } from '@tiertalk/proto';
import type { FuzzFrame } from './frames';

const BATCH = 16;
const MAX_CONSECUTIVE_CONNECT_FAILURES = 5;
const HOSTILE_CLIENT_VERSIONS = ['', 'x'.repeat(5000), "1' OR '1'='1", '\u0000'];

export interface LaneOptions {
  name: string;
  port: number;
  transport: TransportKind;
  /** Log in as this user before fuzzing (a logged-in lane); absent: never log in. */
  login?: { user: string; password: string };
  frames: fc.Arbitrary<FuzzFrame>;
  seed: number;
  /** Stop after this many frames or at `deadline` (epoch ms), whichever comes first. */
  maxFrames: number;
  deadline: number;
  /** Now and then write a broken length field (the gateway must close the connection). */
  breakFraming?: boolean;
  /** Last frame of a logged-in lane's run (e.g. a hostile logout). */
  finalFrame?: FuzzFrame;
  /**
   * Do not wait for db-proxy between batches: hostile requests pile up in db-proxy
   * (a load test; see docs/SECURITY.md "Security tests" for what that finds today).
   */
  flood?: boolean;
}

export interface LaneReport {
  name: string;
  sent: number;
  /** Frames sent while the lane was logged in, per command id. */
  sentLoggedIn: Map<number, number>;
  connections: number;
  closedByServer: number;
  connectFailures: number;
  hostileLoginsAccepted: number;
  loginsRefused: number;
  heartbeatsLost: number;
  dbProxyBarriersLost: number;
  brokenFramesSent: number;
  /** The last frames written before the lane ended (for reproduction). */
  recent: FuzzFrame[];
}

const KEEP_RECENT = 32;

export async function runLane(opts: LaneOptions): Promise<LaneReport> {
  const report: LaneReport = {
    name: opts.name,
    sent: 0,
    sentLoggedIn: new Map(),
    connections: 0,
    closedByServer: 0,
    connectFailures: 0,
    hostileLoginsAccepted: 0,
    loginsRefused: 0,
    heartbeatsLost: 0,
    dbProxyBarriersLost: 0,
    brokenFramesSent: 0,
    recent: [],
  };
  const rng = fc.sample(fc.integer({ min: 0, max: 99 }), { numRuns: 10_000, seed: opts.seed });
  let client: TeamTalkClient | undefined;
  let loggedIn = false;
  let batchNo = 0;
  let consecutiveFailures = 0;
  try {
    while (report.sent < opts.maxFrames && Date.now() < opts.deadline) {
      if (!client || client.isClosed) {
        if (client) report.closedByServer += 1;
        const opened = await open(opts, report, batchNo);
        client = opened?.client;
        loggedIn = opened?.loggedIn ?? false;
        if (!client) {
          consecutiveFailures += 1;
          if (consecutiveFailures >= MAX_CONSECUTIVE_CONNECT_FAILURES) break;
          continue;
        }
        consecutiveFailures = 0;
      }
      const batch = fc.sample(opts.frames, { numRuns: BATCH, seed: opts.seed + 7919 * ++batchNo });
      for (const frame of batch) {
        if (client.isClosed) break;
        if (!write(client, encodeFrame(frame.serviceId, frame.commandId, frame.seqNum, frame.body))) break;
        report.sent += 1;
        remember(report, frame);
        if (loggedIn) report.sentLoggedIn.set(frame.commandId, (report.sentLoggedIn.get(frame.commandId) ?? 0) + 1);
      }
      if (opts.breakFraming && !client.isClosed && rng[batchNo % rng.length] < 10) {
        write(client, brokenLength(rng[(batchNo * 7) % rng.length]));
        report.brokenFramesSent += 1;
      }
      if (!client.isClosed) {
        // The echo proves the gateway got through the batch; a lost one means it closed us or is overloaded.
        await client.heartbeat().catch(() => {
          report.heartbeatsLost += 1;
        });
      }
      if (loggedIn && !opts.flood && !client.isClosed) {
        // A request relayed to db-proxy queues behind the batch's relayed requests there: its
        // answer paces the lane by db-proxy's progress too (robustness, not a load test).
        await client.departments(0x7fff_ffff).catch(() => {
          report.dbProxyBarriersLost += 1;
        });
      }
    }
    if (opts.finalFrame && client && !client.isClosed) {
      const f = opts.finalFrame;
      if (write(client, encodeFrame(f.serviceId, f.commandId, f.seqNum, f.body))) {
        report.sent += 1;
        remember(report, f);
        if (loggedIn) report.sentLoggedIn.set(f.commandId, (report.sentLoggedIn.get(f.commandId) ?? 0) + 1);
      }
      await client.heartbeat().catch(() => undefined);
    }
  } finally {
    client?.close('fuzz lane done');
  }
  return report;
}

async function open(opts: LaneOptions, report: LaneReport, attempt: number): Promise<{ client: TeamTalkClient; loggedIn: boolean } | undefined> {
  const connect = (): Promise<TeamTalkClient | undefined> =>
    TeamTalkClient.connect({
      host: '127.0.0.1',
      port: opts.port,
      transport: opts.transport,
      heartbeatMs: 0,
      requestTimeoutMs: 10_000,
      maxQueuedBytes: 64 * 1024 * 1024,
    }).then(
      (c) => {
        report.connections += 1;
        // Pushes and errors of a hostile session are not this test's business; an unhandled 'error' would throw.
        c.on('error', () => undefined);
        return c;
      },
      () => {
        report.connectFailures += 1;
        return undefined;
      },
    );
  const c = await connect();
  if (!c || !opts.login) return c ? { client: c, loggedIn: false } : undefined;
  const { user, password } = opts.login;
  // Hostile login fields first: every client type and status (OFFLINE too; values outside the
  // enums never pass the decoder, proto2 enums are closed) and odd client versions.
  const hostile = {
    clientType: [2, 17, 18, 1][attempt % 4] as IM.BaseDefine.ClientType,
    onlineStatus: [2, 3, 1][attempt % 3] as IM.BaseDefine.UserStatType,
    clientVersion: HOSTILE_CLIENT_VERSIONS[attempt % HOSTILE_CLIENT_VERSIONS.length],
  };
  if (await c.login(user, password, hostile).then(() => true, () => false)) {
    report.hostileLoginsAccepted += 1;
    return { client: c, loggedIn: true };
  }
  c.close('hostile login refused');
  const plain = await connect();
  if (!plain) return undefined;
  if (await plain.login(user, password).then(() => true, () => false)) return { client: plain, loggedIn: true };
  report.loginsRefused += 1;
  // Keep fuzzing unauthenticated rather than hammering the login.
  return { client: plain, loggedIn: false };
}

function write(c: TeamTalkClient, bytes: Uint8Array): boolean {
  try {
    c.sendRaw(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A header whose length field is below the header size or far above any cap. */
function brokenLength(pick: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE([0, 15, 0xffff_ffff, 64 * 1024 * 1024][pick % 4], 0);
  b.writeUInt16BE(CID.CID_OTHER_HEARTBEAT, 10);
  return b;
}

function remember(report: LaneReport, frame: FuzzFrame): void {
  report.recent.push(frame);
  if (report.recent.length > KEEP_RECENT) report.recent.shift();
}
