// The send API (services/http-api) as a real process beside a test Cluster:
// same etcd prefix, the http-api certificate from the test PKI. Only the PID
// this class spawned is ever signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Cluster } from './cluster';
import { repoRoot, testConfig } from './config';
import { testPki, tlsEnv } from './dev-pki';
import { canConnect, freePort } from './ports';
import { waitFor } from './wait';

export interface HttpApiServiceOptions {
  /** The API token (TT_HTTP_API_TOKEN). */
  token: string;
  /** TT_HTTP_API_RATE_PER_SEC; default 1000 (tests of the limit set a small one). */
  ratePerSec?: number;
  env?: Record<string, string>;
  logDir?: string;
}

export class HttpApiService {
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** Where /metrics, /healthz and /readyz answer (TT_METRICS_PORT). */
    readonly metricsPort: number,
    readonly logFile: string,
    private readonly exit: Promise<void>,
  ) {
    void exit.then(() => (this.exited = true));
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Base URL of the metrics port (append /metrics, /healthz, /readyz). */
  get metricsUrl(): string {
    return `http://127.0.0.1:${this.metricsPort}`;
  }

  /** Starts `services/http-api/dist/main.js` for `cluster`; resolves once its HTTP port answers. */
  static async start(cluster: Cluster, opts: HttpApiServiceOptions): Promise<HttpApiService> {
    const main = path.join(repoRoot, 'services', 'http-api', 'dist', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing; run \`npm run build\` first`);
    const logDir = opts.logDir ?? path.join(repoRoot, '.run', 'test-logs');
    mkdirSync(logDir, { recursive: true });
    const port = await freePort();
    // freePort may hand out the same port twice in a row (the first was closed again).
    let metricsPort = await freePort();
    while (metricsPort === port) metricsPort = await freePort();
    const logFile = path.join(logDir, `http-api-${port}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [main], {
      env: {
        PATH: process.env.PATH ?? '',
        TT_ENV: 'development',
        TT_ETCD_ENDPOINTS: testConfig.etcdEndpoints.join(','),
        TT_ETCD_PREFIX: cluster.prefix,
        TT_INSTANCE_ID: `http-api-${port}`,
        TT_LEASE_TTL_SEC: '3',
        TT_LOG_LEVEL: 'info',
        TT_HTTP_API_HOST: '127.0.0.1',
        TT_HTTP_API_PORT: String(port),
        TT_HTTP_API_TOKEN: opts.token,
        TT_HTTP_API_RATE_PER_SEC: String(opts.ratePerSec ?? 1000),
        TT_METRICS_HOST: '127.0.0.1',
        TT_METRICS_PORT: String(metricsPort),
        ...tlsEnv(testPki(), 'http-api'),
        ...opts.env,
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const svc = new HttpApiService(child, port, metricsPort, logFile, exit);
    try {
      await waitFor(async () => {
        if (svc.exited) throw new Error(`http-api exited during start-up:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
        return canConnect(port);
      }, 20_000);
    } catch (err) {
      await svc.stop();
      throw err;
    }
    return svc;
  }

  /** SIGTERM, SIGKILL after 5 s; waits for the exit. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exit;
    clearTimeout(timer);
  }
}
