// The queue discipline of the group traffic control (ceiling, bound, timeout,
// metrics, off switch) on fake timers; adaptive-budget.test.ts drives the
// adaptive budget and the slow-connection rule over real sockets.
import { createLogger } from '@tiertalk/log';
import { sampleValue } from '@tiertalk/metrics';
import { GroupPushControl } from './traffic-control';
import type { GroupPushControlOptions, GroupPushTarget } from './traffic-control';

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

const INTERVAL = 1000;

/** A member that records what it was sent; `name` is its label in `sent`. */
class Recorder implements GroupPushTarget {
  deliverable = true;
  outboundBytes = 0;
  constructor(
    readonly name: string,
    private readonly sent: string[],
  ) {}
  send(frame: Buffer): boolean {
    this.sent.push(`${frame.toString()}>${this.name}`);
    return true;
  }
}

function setup(over: Partial<Omit<GroupPushControlOptions, 'logger'>> = {}) {
  const lines: LogLine[] = [];
  const logger = createLogger({
    service: 'msg-test',
    instanceId: 'test',
    level: 'debug',
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  const sent: string[] = [];
  const control = new GroupPushControl<Recorder>({
    enabled: true,
    tickets: 4,
    intervalMs: INTERVAL,
    queueMax: 100,
    timeoutMs: 30_000,
    sliceMs: 10,
    maxLoopDelayMs: 10_000,
    connHighWaterBytes: 1024,
    logger,
    ...over,
  });
  const members = (n: number): Recorder[] => Array.from({ length: n }, (_, i) => new Recorder(`u${i}`, sent));
  return { control, sent, lines, members };
}

const frame = (text: string): Buffer => Buffer.from(text);
/** Lets the slices due now run, and those they schedule (slices run on the real setImmediate). */
async function runSlices(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}
/** Moves the fake clock (interval timers fire), then runs the slices that became due. */
async function advance(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    jest.advanceTimersByTime(Math.min(100, ms - t));
    await runSlices();
  }
}

let controls: Array<GroupPushControl<Recorder>> = [];
beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'clearImmediate', 'nextTick'] });
  jest.setSystemTime(1_000_000);
});
afterEach(() => {
  for (const c of controls) c.close();
  controls = [];
  jest.useRealTimers();
});

function make(over: Partial<Omit<GroupPushControlOptions, 'logger'>> = {}) {
  const s = setup(over);
  controls.push(s.control);
  return s;
}

describe('GroupPushControl', () => {
  it('with a fixed ceiling (TT_GROUP_PUSH_TICKETS) spreads pushes over intervals, in order', async () => {
    const { control, sent, members } = make({ tickets: 4 });
    control.submit(frame('m1'), members(3));
    control.submit(frame('m2'), members(3));
    control.submit(frame('m3'), members(2));
    expect(sent).toEqual([]); // written in the next slice, not inside submit
    await runSlices();
    expect(sent).toEqual(['m1>u0', 'm1>u1', 'm1>u2', 'm2>u0']);
    expect(control.queuedDeliveries).toBe(4);
    await advance(INTERVAL);
    expect(sent.slice(4)).toEqual(['m2>u1', 'm2>u2', 'm3>u0', 'm3>u1']);
    expect(control.queuedDeliveries).toBe(0);
    expect(control.stats).toMatchObject({ delivered: 8, shedQueueFull: 0, shedTimeout: 0, shedSlowConnection: 0 });
  });

  it('without a ceiling writes a backlog within the same loop turns, never one target twice', async () => {
    const { control, sent, members } = make({ tickets: 0, queueMax: 20_000 });
    const group = members(10_000);
    control.submit(frame('big'), group);
    control.submit(frame('next'), group.slice(0, 10));
    // The first slice writes its budget (4,096), the next slices the rest: no interval wait.
    await runSlices();
    expect(control.queuedDeliveries).toBe(0);
    expect(sent).toHaveLength(10_010);
    expect(new Set(sent).size).toBe(10_010);
    expect(sent.at(-1)).toBe('next>u9');
    // Every slice used its whole budget quickly: the budget grew.
    expect(control.sliceBudget).toBeGreaterThan(4096);
  });

  it('drops the OLDEST queued pushes when the queue bound is reached', async () => {
    const { control, sent, lines, members } = make({ tickets: 1, queueMax: 5 });
    control.submit(frame('p0'), members(1));
    await runSlices(); // p0 written, the ceiling spent
    control.submit(frame('p1'), members(3));
    control.submit(frame('p2'), members(2));
    expect(control.queuedDeliveries).toBe(5);
    control.submit(frame('p3'), members(2)); // 7 > 5: p1 (oldest) goes
    expect(control.queuedDeliveries).toBe(4);
    expect(control.stats.shedQueueFull).toBe(3);
    await advance(INTERVAL * 10);
    expect(sent).toEqual(['p0>u0', 'p2>u0', 'p2>u1', 'p3>u0', 'p3>u1']);
    const report = lines.find((l) => l.msg.startsWith('group push deliveries shed'));
    expect(report).toMatchObject({ shedQueueFull: 3, shedTimeout: 0, shedSlowConnection: 0 });
  });

  it('exports its queue depth and age, budget, deliveries and shed count (tt_msg_group_push_*)', async () => {
    const shed = await sampleValue('tt_msg_group_push_shed_total', { reason: 'queue_full' });
    const delivered = await sampleValue('tt_msg_group_push_deliveries_total');
    const { control, members } = make({ tickets: 1, queueMax: 5 });
    control.submit(frame('p0'), members(1));
    await runSlices();
    control.submit(frame('p1'), members(3));
    control.submit(frame('p2'), members(2));
    control.submit(frame('p3'), members(2));
    await advance(300);
    expect(await sampleValue('tt_msg_group_push_queue_deliveries')).toBe(4);
    expect(await sampleValue('tt_msg_group_push_queue_age_seconds')).toBeCloseTo(0.3);
    expect(await sampleValue('tt_msg_group_push_slice_budget')).toBe(control.sliceBudget);
    expect(await sampleValue('tt_msg_group_push_shed_total', { reason: 'queue_full' })).toBe(shed + 3);
    expect(await sampleValue('tt_msg_group_push_deliveries_total')).toBe(delivered + 1);
    control.close();
    expect(await sampleValue('tt_msg_group_push_queue_deliveries')).toBe(0);
  });

  it('a single push larger than the bound keeps only its first queueMax deliveries', async () => {
    const { control, sent, members } = make({ tickets: 2, queueMax: 3 });
    control.submit(frame('huge'), members(10));
    expect(control.queuedDeliveries).toBe(3);
    expect(control.stats.shedQueueFull).toBe(7);
    await advance(INTERVAL * 5);
    expect(sent).toEqual(['huge>u0', 'huge>u1', 'huge>u2']);
  });

  it('drops a queued push older than the timeout and logs the shed count once a second', async () => {
    const { control, sent, lines, members } = make({ tickets: 1, timeoutMs: 2500 });
    control.submit(frame('old'), members(10));
    await runSlices();
    // 1 at once, then 1 per interval: at 1s, 2s; at 3s it is 3000 ms old > 2500.
    await advance(INTERVAL * 3);
    expect(sent).toEqual(['old>u0', 'old>u1', 'old>u2']);
    expect(control.stats.shedTimeout).toBe(7);
    expect(control.queuedDeliveries).toBe(0);
    control.submit(frame('fresh'), members(1));
    await runSlices();
    expect(sent.at(-1)).toBe('fresh>u0');
    await advance(INTERVAL * 3);
    const reports = lines.filter((l) => l.msg.startsWith('group push deliveries shed'));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ shedTimeout: 7, shedQueueFull: 0 });
  });

  it('holds frames back for a connection over its high-water mark, in order; sheds the oldest beyond the mark', async () => {
    const before = await sampleValue('tt_msg_group_push_shed_total', { reason: 'slow_connection' });
    const { control, sent, members } = make({ tickets: 0, connHighWaterBytes: 1024 });
    const [fast, slow, gone] = members(3);
    slow.outboundBytes = 1024;
    gone.deliverable = false;
    const big = (text: string): Buffer => Buffer.concat([Buffer.from(text), Buffer.alloc(500, 32)]);
    for (const t of ['a', 'b', 'c']) control.submit(big(t), [fast, slow, gone]);
    await runSlices();
    // The others are not held up; the slow one holds at most 1,024 bytes back: its oldest ('a') went.
    expect(sent.filter((x) => x.endsWith('>u0')).map((x) => x[0])).toEqual(['a', 'b', 'c']);
    expect(sent.filter((x) => !x.endsWith('>u0'))).toEqual([]);
    expect(control.stats).toMatchObject({ delivered: 3, shedSlowConnection: 1 });
    expect(control.queuedDeliveries).toBe(2);
    expect(await sampleValue('tt_msg_group_push_shed_total', { reason: 'slow_connection' })).toBe(before + 1);
    // It reads: the held frames follow, in order.
    slow.outboundBytes = 0;
    await advance(100);
    expect(sent.filter((x) => x.endsWith('>u1')).map((x) => x[0])).toEqual(['b', 'c']);
    expect(control.queuedDeliveries).toBe(0);
    expect(control.stats.delivered).toBe(5);
  });

  it('logs nothing when nothing was shed', async () => {
    const { control, lines, members } = make({ tickets: 2 });
    control.submit(frame('x'), members(6));
    await advance(INTERVAL * 5);
    expect(control.stats.delivered).toBe(6);
    expect(lines.filter((l) => l.msg.startsWith('group push deliveries shed'))).toHaveLength(0);
  });

  it('disabled: every push goes out at once, nothing queued or shed', async () => {
    const { control, sent, members } = make({ enabled: false, tickets: 1, queueMax: 1 });
    control.submit(frame('a'), members(50));
    control.submit(frame('b'), members(50));
    expect(sent).toHaveLength(100);
    expect(control.queuedDeliveries).toBe(0);
    expect(control.stats).toMatchObject({ delivered: 100, shedQueueFull: 0, shedTimeout: 0, shedSlowConnection: 0 });
  });

  it('close drops the queue and stops the timers', async () => {
    const { control, sent, members } = make({ tickets: 1 });
    control.submit(frame('a'), members(5));
    await runSlices();
    control.close();
    await advance(INTERVAL * 10);
    expect(sent).toEqual(['a>u0']);
    control.submit(frame('b'), members(1));
    await advance(INTERVAL);
    expect(sent).toEqual(['a>u0']);
    expect(jest.getTimerCount()).toBe(0);
  });
});
