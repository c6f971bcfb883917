// An HTTP service that runs beside a test Cluster rather than in it (admin,
// http-api): a real process with the cluster's etcd prefix and its own
// certificate from the test PKI. Only the PID this class spawned is ever signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Cluster } from './cluster';
import { repoRoot, testConfig } from './config';
import { testPki, tlsEnv } from './dev-pki';
import { canConnect, freePort } from './ports';
import { waitFor } from './wait';

export interface SideServiceOptions {
  env?: Record<string, string>;
  logDir?: string;
}

/** What differs between the side services. */
export interface SideServiceSpec {
  /** Folder under services/ and the name in its instance id, log file and certificate. */
  service: string;
  /** Its own settings for the HTTP port it listens on (host, port, token, ...). */
  env(port: number): Record<string, string>;
}

/** The started process; a side service's constructor takes it. */
export interface SideProcess {
  child: ChildProcess;
  port: number;
  metricsPort: number;
  logFile: string;
  exit: Promise<void>;
}

export class SideService {
  private exited = false;
  private readonly child: ChildProcess;
  private readonly exit: Promise<void>;
  readonly port: number;
  /** Where /metrics, /healthz and /readyz answer (TT_METRICS_PORT). */
  readonly metricsPort: number;
  readonly logFile: string;

  constructor(proc: SideProcess) {
    this.child = proc.child;
    this.exit = proc.exit;
    this.port = proc.port;
    this.metricsPort = proc.metricsPort;
    this.logFile = proc.logFile;
    void proc.exit.then(() => (this.exited = true));
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Base URL of the metrics port, e.g. `http://127.0.0.1:41235` (append /metrics, /healthz, /readyz). */
  get metricsUrl(): string {
    return `http://127.0.0.1:${this.metricsPort}`;
  }

  /** SIGTERM, SIGKILL after 5 s; waits for the exit. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exit;
    clearTimeout(timer);
  }

  get hasExited(): boolean {
    return this.exited;
  }
}

/** Starts `services/<service>/dist/main.js` for `cluster`; resolves once its HTTP port answers. */
export async function startSideService<T extends SideService>(
  make: (proc: SideProcess) => T,
  cluster: Cluster,
  spec: SideServiceSpec,
  opts: SideServiceOptions,
): Promise<T> {
  const main = path.join(repoRoot, 'services', spec.service, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing; run \`npm run build\` first`);
  const logDir = opts.logDir ?? path.join(repoRoot, '.run', 'test-logs');
  mkdirSync(logDir, { recursive: true });
  const port = await freePort();
  const metricsPort = await freePort();
  const logFile = path.join(logDir, `${spec.service}-${port}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH ?? '',
      TT_ETCD_ENDPOINTS: testConfig.etcdEndpoints.join(','),
      TT_ETCD_PREFIX: cluster.prefix,
      TT_INSTANCE_ID: `${spec.service}-${port}`,
      TT_LEASE_TTL_SEC: '3',
      TT_LOG_LEVEL: 'info',
      ...spec.env(port),
      TT_METRICS_HOST: '127.0.0.1',
      TT_METRICS_PORT: String(metricsPort),
      ...tlsEnv(testPki(), spec.service),
      ...opts.env,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const svc = make({ child, port, metricsPort, logFile, exit });
  try {
    await waitFor(async () => {
      if (svc.hasExited) throw new Error(`${spec.service} exited during start-up:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
      return canConnect(port);
    }, 20_000);
  } catch (err) {
    await svc.stop();
    throw err;
  }
  return svc;
}
