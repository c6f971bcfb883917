// exitOnSignals in a real child process (test/signal-fixture.js, run from dist/: build first).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const FIXTURE = path.join(__dirname, '..', 'test', 'signal-fixture.js');

interface Fixture {
  child: ChildProcess;
  messages: string[];
  /** Resolves when a log line with this msg is printed. */
  logged(msg: string): Promise<void>;
  exited: Promise<number | null>;
}

function startFixture(mode: 'clean' | 'hang' | 'fail', exitDeadlineMs: number): Fixture {
  const child = spawn(process.execPath, [FIXTURE, mode, String(exitDeadlineMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  const waiting = new Map<string, () => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = (JSON.parse(line) as { msg: string }).msg;
    messages.push(msg);
    waiting.get(msg)?.();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logged = (msg: string) => (messages.includes(msg) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(msg, resolve)));
  return { child, messages, logged, exited };
}

const running: Fixture[] = [];
afterEach(() => {
  for (const f of running.splice(0)) if (f.child.exitCode === null && f.child.signalCode === null) f.child.kill('SIGKILL');
});

function start(mode: 'clean' | 'hang' | 'fail', exitDeadlineMs: number): Fixture {
  const f = startFixture(mode, exitDeadlineMs);
  running.push(f);
  return f;
}

describe('exitOnSignals', () => {
  it('SIGTERM: every step runs in order and the process exits 0', async () => {
    const f = start('clean', 10_000);
    await f.logged('fixture ready');
    f.child.kill('SIGTERM');
    expect(await f.exited).toBe(0);
    expect(f.messages.slice(1)).toEqual(['shutting down', 'shutdown step done', 'shutdown step done', 'stopped']);
  });

  it('a failing step: the rest still runs and the process exits 1', async () => {
    const f = start('fail', 10_000);
    await f.logged('fixture ready');
    f.child.kill('SIGINT');
    expect(await f.exited).toBe(1);
    expect(f.messages).toContain('shutdown step failed');
    expect(f.messages.at(-1)).toBe('stopped');
  });

  it('a second signal while stopping exits 1 at once', async () => {
    const f = start('hang', 30_000);
    await f.logged('fixture ready');
    f.child.kill('SIGTERM');
    await f.logged('drain started');
    const t = Date.now();
    f.child.kill('SIGTERM');
    expect(await f.exited).toBe(1);
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(f.messages).toContain('second signal while stopping: exiting now');
    expect(f.messages).not.toContain('stopped');
  });

  it('a stop that outlives the exit deadline exits 1', async () => {
    const f = start('hang', 500);
    await f.logged('fixture ready');
    f.child.kill('SIGTERM');
    expect(await f.exited).toBe(1);
    expect(f.messages).toContain('shutdown took too long; exiting');
    expect(f.messages).not.toContain('stopped');
  });
});
