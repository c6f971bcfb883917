// One private dependency process (redis-server, mariadbd, etcd) for fault
// tests: it keeps its port and data directory across stop/kill/start, so a
// test can take it away and bring the same instance back. Only the PID this
// object spawned is ever signalled.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from './wait';

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 20_000;
const LOG_TAIL_LINES = 30;

export interface ServerCommand {
  bin: string;
  args: string[];
}

export abstract class PrivateServer {
  /** Scratch directory (data, socket, log), removed by destroy(). */
  readonly dir: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private running = false;
  private logOffset = 0;
  private readonly onParentExit = (): void => {
    // Last resort when the runner dies without destroy(): no orphans.
    if (this.running) this.child?.kill('SIGKILL');
  };

  protected constructor(
    /** Short name for messages and the temp dir, e.g. "redis". */
    readonly kind: string,
    readonly port: number,
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), `tt-private-${kind}-`));
    this.logFile = path.join(this.dir, `${kind}.log`);
    process.on('exit', this.onParentExit);
  }

  /** What to run; called on every start (same port, same data). */
  protected abstract command(): ServerCommand;
  /** True once the server answers a real request. */
  protected abstract answers(): Promise<boolean>;

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Spawns the server and resolves once it answers; throws with its log tail if it exits or stays silent. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.kind} is already running (pid ${this.child?.pid})`);
    const { bin, args } = this.command();
    if (!existsSync(bin)) throw new Error(`${bin} is missing (make test installs MariaDB, Redis and etcd)`);
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      writeSync(fd, `\n=== ${new Date().toISOString()} start ${bin} ${args.join(' ')} ===\n`);
      this.logOffset = statSync(this.logFile).size;
      child = spawn(bin, args, { cwd: this.dir, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.running = true;
    this.exited = new Promise<void>((resolve) => {
      const done = (): void => {
        if (this.child === child) this.running = false;
        resolve();
      };
      child.once('exit', done);
      child.once('error', done);
    });
    try {
      await waitFor(
        async () => {
          if (!this.running) throw new Error(`${this.kind} exited during start-up`);
          return this.answers();
        },
        READY_TIMEOUT_MS,
        { intervalMs: 100, what: `${this.kind} on port ${this.port}` },
      );
    } catch (err) {
      await this.kill();
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`${reason}\n--- ${this.logFile} (tail) ---\n${this.logTail()}`);
    }
  }

  /** SIGTERM and wait for the exit (SIGKILL after a grace period): a clean shutdown. */
  async stop(): Promise<void> {
    if (!this.running || !this.child) return;
    const child = this.child;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL and wait for the exit: a crash. */
  async kill(): Promise<void> {
    if (!this.running || !this.child) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing (a hung host). */
  pause(): void {
    if (!this.running || !this.child) throw new Error(`${this.kind} is not running`);
    this.child.kill('SIGSTOP');
  }

  /** SIGCONT after pause(). */
  resume(): void {
    if (!this.running || !this.child) throw new Error(`${this.kind} is not running`);
    this.child.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Kills the process if it still runs and removes the scratch directory; idempotent. */
  async destroy(): Promise<void> {
    if (this.running && this.child) {
      // A paused process would not act on SIGTERM; SIGKILL works either way.
      this.child.kill('SIGKILL');
      await this.exited;
    }
    process.off('exit', this.onParentExit);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** This run's log output (last lines). */
  logTail(lines = LOG_TAIL_LINES): string {
    if (!existsSync(this.logFile)) return '(no log)';
    return readFileSync(this.logFile).subarray(this.logOffset).toString('utf8').split('\n').slice(-lines).join('\n');
  }
}
