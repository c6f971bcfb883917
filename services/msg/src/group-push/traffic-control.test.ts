import { createLogger } from '@tiertalk/log';
import { sampleValue } from '@tiertalk/metrics';
import { GroupPushControl } from './traffic-control';
import type { GroupPushControlOptions } from './traffic-control';

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

const INTERVAL = 1000;

function setup(over: Partial<Omit<GroupPushControlOptions, 'logger'>> = {}) {
  const lines: LogLine[] = [];
  const logger = createLogger({
    service: 'msg-test',
    instanceId: 'test',
    level: 'debug',
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  // What each target received, in order: "<frame text>".
  const got = new Map<string, string[]>();
  const sent: string[] = [];
  const control = new GroupPushControl<string>(
    { enabled: true, tickets: 4, intervalMs: INTERVAL, queueMax: 100, timeoutMs: 30_000, logger, ...over },
    (frame, target) => {
      const list = got.get(target) ?? [];
      list.push(frame.toString());
      got.set(target, list);
      sent.push(`${frame.toString()}>${target}`);
    },
  );
  return { control, got, sent, lines };
}

const members = (n: number, prefix = 'u'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const frame = (text: string): Buffer => Buffer.from(text);

let controls: Array<GroupPushControl<string>> = [];
beforeEach(() => {
  jest.useFakeTimers();
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
  it('delivers within the budget at once and spreads the rest over the next intervals, in order', () => {
    const { control, sent } = make({ tickets: 4 });
    control.submit(frame('m1'), members(3));
    expect(sent).toEqual(['m1>u0', 'm1>u1', 'm1>u2']);
    // One ticket left: the second push is split across intervals.
    control.submit(frame('m2'), members(3));
    control.submit(frame('m3'), members(2));
    expect(sent.slice(3)).toEqual(['m2>u0']);
    expect(control.queuedDeliveries).toBe(4);
    jest.advanceTimersByTime(INTERVAL);
    expect(sent.slice(4)).toEqual(['m2>u1', 'm2>u2', 'm3>u0', 'm3>u1']);
    expect(control.queuedDeliveries).toBe(0);
    expect(control.stats).toEqual({ delivered: 8, shedQueueFull: 0, shedTimeout: 0 });
  });

  it('never gives one target the same push twice, also when the push is split', () => {
    const { control, got } = make({ tickets: 3 });
    control.submit(frame('big'), members(10));
    jest.advanceTimersByTime(INTERVAL * 5);
    expect(got.size).toBe(10);
    for (const list of got.values()) expect(list).toEqual(['big']);
  });

  it('a new push waits behind queued ones even when tickets remain in the window', () => {
    const { control, sent } = make({ tickets: 2 });
    control.submit(frame('a'), members(3));
    expect(sent).toEqual(['a>u0', 'a>u1']);
    jest.advanceTimersByTime(INTERVAL);
    // a>u2 used one ticket of this window; b gets the last one.
    control.submit(frame('b'), members(2));
    expect(sent).toEqual(['a>u0', 'a>u1', 'a>u2', 'b>u0']);
    jest.advanceTimersByTime(INTERVAL);
    expect(sent.slice(4)).toEqual(['b>u1']);
  });

  it('drops the OLDEST queued pushes when the queue bound is reached', () => {
    const { control, sent, lines } = make({ tickets: 1, queueMax: 5 });
    control.submit(frame('p0'), members(1)); // sent at once, budget spent
    control.submit(frame('p1'), members(3));
    control.submit(frame('p2'), members(2));
    expect(control.queuedDeliveries).toBe(5);
    control.submit(frame('p3'), members(2)); // 7 > 5: p1 (oldest) goes
    expect(control.queuedDeliveries).toBe(4);
    expect(control.stats.shedQueueFull).toBe(3);
    jest.advanceTimersByTime(INTERVAL * 10);
    expect(sent).toEqual(['p0>u0', 'p2>u0', 'p2>u1', 'p3>u0', 'p3>u1']);
    const report = lines.find((l) => l.msg.startsWith('group push deliveries shed'));
    expect(report).toMatchObject({ shedQueueFull: 3, shedTimeout: 0 });
  });

  it('exports its queue depth, deliveries and shed count (tt_msg_group_push_*)', async () => {
    const shed = await sampleValue('tt_msg_group_push_shed_total', { reason: 'queue_full' });
    const delivered = await sampleValue('tt_msg_group_push_deliveries_total');
    const { control } = make({ tickets: 1, queueMax: 5 });
    control.submit(frame('p0'), members(1));
    control.submit(frame('p1'), members(3));
    control.submit(frame('p2'), members(2));
    control.submit(frame('p3'), members(2));
    expect(await sampleValue('tt_msg_group_push_queue_deliveries')).toBe(4);
    expect(await sampleValue('tt_msg_group_push_shed_total', { reason: 'queue_full' })).toBe(shed + 3);
    expect(await sampleValue('tt_msg_group_push_deliveries_total')).toBe(delivered + 1);
    control.close();
    expect(await sampleValue('tt_msg_group_push_queue_deliveries')).toBe(0);
  });

  it('a single push larger than the bound keeps only its first queueMax deliveries', () => {
    const { control, sent } = make({ tickets: 2, queueMax: 3 });
    control.submit(frame('huge'), members(10));
    expect(control.queuedDeliveries).toBe(3);
    expect(control.stats.shedQueueFull).toBe(5);
    jest.advanceTimersByTime(INTERVAL * 5);
    expect(sent).toEqual(['huge>u0', 'huge>u1', 'huge>u2', 'huge>u3', 'huge>u4']);
  });

  it('drops a queued push older than the timeout and logs the shed count once per interval', () => {
    const { control, sent, lines } = make({ tickets: 1, timeoutMs: 2500 });
    control.submit(frame('old'), members(10));
    // 1 at once, then 1 per interval: at 1s, 2s; at 3s it is 3000 ms old > 2500.
    jest.advanceTimersByTime(INTERVAL * 3);
    expect(sent).toEqual(['old>u0', 'old>u1', 'old>u2']);
    expect(control.stats.shedTimeout).toBe(7);
    expect(control.queuedDeliveries).toBe(0);
    control.submit(frame('fresh'), members(1));
    expect(sent.at(-1)).toBe('fresh>u0');
    jest.advanceTimersByTime(INTERVAL * 3);
    const reports = lines.filter((l) => l.msg.startsWith('group push deliveries shed'));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ shedTimeout: 7, shedQueueFull: 0 });
  });

  it('logs nothing when nothing was shed', () => {
    const { control, lines } = make({ tickets: 2 });
    control.submit(frame('x'), members(6));
    jest.advanceTimersByTime(INTERVAL * 5);
    expect(control.stats.delivered).toBe(6);
    expect(lines.filter((l) => l.msg.startsWith('group push deliveries shed'))).toHaveLength(0);
  });

  it('disabled: every push goes out at once, nothing queued or shed', () => {
    const { control, sent } = make({ enabled: false, tickets: 1, queueMax: 1 });
    control.submit(frame('a'), members(50));
    control.submit(frame('b'), members(50));
    expect(sent).toHaveLength(100);
    expect(control.queuedDeliveries).toBe(0);
    expect(control.stats).toEqual({ delivered: 100, shedQueueFull: 0, shedTimeout: 0 });
  });

  it('close drops the queue and stops the timers', () => {
    const { control, sent } = make({ tickets: 1 });
    control.submit(frame('a'), members(5));
    control.close();
    jest.advanceTimersByTime(INTERVAL * 10);
    expect(sent).toEqual(['a>u0']);
    control.submit(frame('b'), members(1));
    expect(sent).toEqual(['a>u0']);
    expect(jest.getTimerCount()).toBe(0);
  });
});
