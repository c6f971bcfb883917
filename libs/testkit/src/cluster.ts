// Real service processes for e2e tests and benchmarks: each instance is
// `node services/<svc>/dist/main.js` with its own env, log file and etcd prefix.
// Only PIDs this class spawned are ever signalled.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { Etcd3, Watcher } from 'etcd3';
import { createDevPki } from '@tiertalk/tls';
import { repoRoot, testConfig } from './config';
import { testPki, tlsEnv } from './dev-pki';
import { testEtcd, uniquePrefix, type EtcdTlsFiles } from './etcd';
import { canConnect, freePort } from './ports';
import { waitFor } from './wait';

export type ServiceName = 'db-proxy' | 'route' | 'msg' | 'msfs' | 'file' | 'login' | 'push';

export interface ClusterSpec {
  /** Instance counts; defaults 1, 1, 1. */
  dbProxy?: number;
  route?: number;
  msg?: number;
  /** Start the login HTTP server (default false). */
  login?: boolean;
  /** Start an msfs file store (default false), before login so /msg_server hands it out; its files live in a temp dir removed by stop(). */
  msfs?: boolean;
  /** Push service instances (services/push; default 0): provider settings go in serviceEnv.push. */
  push?: number;
  /** Start a file server (default false): transfers between clients, offline files in the same temp dir as msfs's. */
  file?: boolean;
  /** Overrides for every process (applied last). */
  env?: Record<string, string>;
  /** Overrides for one service's processes (applied before `env`). */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Default `<repo>/.run/test-logs`. */
  logDir?: string;
  /** etcd the services and the cluster's readiness watch use (default: testConfig's, TT_TEST_ETCD). */
  etcdEndpoints?: readonly string[];
  /**
   * TLS towards clients with a development PKI: every gateway also listens for
   * TeamTalk over TLS (`tlsPort`) and serves wss:// on its WebSocket port, and
   * login serves HTTPS. Clients trust `Cluster.caFile`.
   */
  clientTls?: boolean | ClientTlsSpec;
  /**
   * Plaintext gRPC between the services (TT_GRPC_INSECURE on loopback).
   * Default false: every service gets its certificate from the process's
   * test PKI (testPki()) and the tiers speak mutual TLS, as in production.
   */
  insecure?: boolean;
  /**
   * etcdEndpoints speak TLS: the cluster's own watch uses these files, the
   * services trust this CA and present their own certificates (TT_ETCD_CA).
   */
  etcdTls?: EtcdTlsFiles;
  /**
   * These services' processes run with the V8 inspector on a private loopback
   * port (InstanceInfo.inspectPort): benchmarks force a full GC, read
   * process.memoryUsage() and take heap snapshots through it. Never production.
   */
  inspect?: readonly ServiceName[];
  /**
   * Redis dbs of the test Redis for db-proxy and route's session registry
   * (default: testConfig's, shared by every test that does not choose).
   * e2eSuite() passes dbs it claimed for its file (claimRedisDbs()).
   */
  redisDbs?: { dbProxy: number; route: number };
}

export interface ClientTlsSpec {
  /** PKI directory (created or completed; existing files kept). Default: the process's test PKI (testPki()). */
  dir?: string;
  /** login's HTTP port serves HTTPS (default true). */
  login?: boolean;
}

export interface GatewayInfo {
  name: string;
  /** Plain TeamTalk TCP (not listening when started with TT_PLAIN_TCP=false). */
  tcpPort: number;
  wsPort: number;
  /** TeamTalk over TLS, with `clientTls`. */
  tlsPort?: number;
}

/** The ports an instance listens on. */
export interface InstancePorts {
  grpcPort: number;
  tcpPort?: number;
  wsPort?: number;
  tlsPort?: number;
  httpPort?: number;
  /** login's TeamTalk-style TCP login port (TT_LEGACY_TCP_PORT). */
  legacyTcpPort?: number;
  /** Where GET /metrics answers (TT_METRICS_PORT; login's HTTP port). */
  metricsPort?: number;
  /** The V8 inspector's loopback port (ClusterSpec.inspect). */
  inspectPort?: number;
}

export interface InstanceInfo extends InstancePorts {
  name: string;
  service: ServiceName;
  pid: number | undefined;
  alive: boolean;
  logFile: string;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Instance extends InstancePorts {
  name: string;
  service: ServiceName;
  child: ChildProcess;
  env: Record<string, string>;
  /** login serves HTTPS. */
  https?: boolean;
  logFile: string;
  /** Where this run's output starts in the (appended) log file. */
  logOffset: number;
  exit?: Exit;
  exited: Promise<Exit>;
}

const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_LINES = 40;
const START_ORDER: readonly ServiceName[] = ['db-proxy', 'push', 'route', 'msg', 'msfs', 'file', 'login'];

// What "ready" means per service, beyond registration: msg must accept TCP
// and login must answer HTTP (each registers once it serves, but the probe
// also covers a listener that failed after registering).
const READINESS: Record<ServiceName, { registers: boolean; tcp: boolean; http: boolean }> = {
  'db-proxy': { registers: true, tcp: false, http: false },
  route: { registers: true, tcp: false, http: false },
  msg: { registers: true, tcp: true, http: false },
  msfs: { registers: true, tcp: false, http: true },
  file: { registers: true, tcp: false, http: false },
  login: { registers: true, tcp: false, http: true },
  push: { registers: true, tcp: false, http: false },
};

export class ClusterError extends Error {
  readonly code = 'CLUSTER_START_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}

export class Cluster {
  private readonly instances: Instance[] = [];
  private readonly registered = new Set<string>();
  private readonly started: Record<ServiceName, number> = { 'db-proxy': 0, route: 0, msg: 0, msfs: 0, file: 0, login: 0, push: 0 };
  /** msfs instances' file directories, removed by stop(). */
  private readonly fileDirs: string[] = [];
  /** The storage directory msfs and the file server share (one backend, as in production). */
  private storageDir: string | undefined;
  private stopped = false;
  private watchError: Error | undefined;
  /** The client-facing PKI's CA (PEM file) when started with `clientTls`. */
  readonly caFile: string | undefined;
  private readonly tlsDir: string | undefined;
  private readonly loginTls: boolean;
  private readonly onParentExit = (): void => {
    // Last resort when the test runner dies without stop(): no orphans.
    for (const inst of this.instances) if (!inst.exit) inst.child.kill('SIGKILL');
  };

  private constructor(
    readonly prefix: string,
    private readonly spec: ClusterSpec,
    private readonly logDir: string,
    private readonly etcd: Etcd3,
    private readonly watcher: Watcher,
  ) {
    const tlsSpec = spec.clientTls === true ? {} : spec.clientTls || undefined;
    if (tlsSpec) {
      // Default: the process's test PKI, the one the tiers' mutual TLS uses too (as `make up` has one CA).
      const pki = tlsSpec.dir !== undefined ? createDevPki(tlsSpec.dir, ['msg', 'login']) : testPki();
      this.tlsDir = pki.dir;
      this.caFile = pki.caCert;
    }
    this.loginTls = tlsSpec !== undefined && tlsSpec.login !== false;
    process.on('exit', this.onParentExit);
  }

  /**
   * Starts db-proxy, route, msg, login in that order; resolves once each is
   * registered in etcd (and msg's TCP / login's HTTP port answers). On failure
   * everything already started is stopped and the error carries the log tail.
   */
  static async start(spec: ClusterSpec = {}): Promise<Cluster> {
    const prefix = uniquePrefix();
    const logDir = spec.logDir ?? path.join(repoRoot, '.run', 'test-logs');
    mkdirSync(logDir, { recursive: true });
    const etcdEndpoints = spec.etcdEndpoints ?? testConfig.etcdEndpoints;
    const etcd = testEtcd(etcdEndpoints, spec.etcdTls);
    let watcher: Watcher;
    try {
      watcher = await withTimeout(
        etcd.watch().prefix(`${prefix}/services/`).create(),
        5_000,
        `etcd not reachable at ${etcdEndpoints.join(',')} (make test starts one)`,
      );
    } catch (err) {
      etcd.close();
      throw err;
    }
    const cluster = new Cluster(prefix, spec, logDir, etcd, watcher);
    watcher.on('put', (kv) => cluster.registered.add(kv.key.toString()));
    watcher.on('delete', (kv) => cluster.registered.delete(kv.key.toString()));
    // An unhandled 'error' event would throw; keep it for the readiness message instead.
    watcher.on('error', (err) => {
      cluster.watchError = err;
    });

    const counts: Record<ServiceName, number> = {
      'db-proxy': spec.dbProxy ?? 1,
      route: spec.route ?? 1,
      msg: spec.msg ?? 1,
      msfs: spec.msfs ? 1 : 0,
      file: spec.file ? 1 : 0,
      login: spec.login ? 1 : 0,
      push: spec.push ?? 0,
    };
    try {
      for (const service of START_ORDER) {
        const batch: Promise<string>[] = [];
        for (let i = 0; i < counts[service]; i++) batch.push(cluster.startInstance(service));
        await Promise.all(batch);
      }
    } catch (err) {
      // The start-up failure is what to report; a clean-up failure is appended to it.
      const cleanup = await cluster.stop().then(
        () => '',
        (e: unknown) => `; clean-up also failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      if (cleanup !== '' && err instanceof Error) err.message += cleanup;
      throw err;
    }
    return cluster;
  }

  /** Running msg gateways (killed ones are left out). */
  gateways(): GatewayInfo[] {
    return this.instances.flatMap((i) =>
      i.service === 'msg' && !i.exit && i.tcpPort !== undefined && i.wsPort !== undefined
        ? [{ name: i.name, tcpPort: i.tcpPort, wsPort: i.wsPort, ...(i.tlsPort !== undefined ? { tlsPort: i.tlsPort } : {}) }]
        : [],
    );
  }

  /** Base URL of the first running login server, e.g. `http://127.0.0.1:41234` (`https://` with clientTls). */
  get loginUrl(): string {
    const login = this.instances.find((i) => i.service === 'login' && !i.exit);
    if (!login || login.httpPort === undefined) throw new Error('cluster has no running login instance');
    return `${login.https ? 'https' : 'http'}://127.0.0.1:${login.httpPort}`;
  }

  /** Base URL of the first running msfs instance, e.g. `http://127.0.0.1:41235/` (what login hands out as msfsPrior). */
  get msfsUrl(): string {
    const msfs = this.instances.find((i) => i.service === 'msfs' && !i.exit);
    if (!msfs || msfs.httpPort === undefined) throw new Error('cluster has no running msfs instance');
    return `http://127.0.0.1:${msfs.httpPort}/`;
  }

  /** The TeamTalk client's login-server URL (`<loginUrl>/msg_server`). */
  get msgServerUrl(): string {
    return `${this.loginUrl}/msg_server`;
  }

  process(name: string): ChildProcess {
    return this.instance(name).child;
  }

  instanceInfo(): InstanceInfo[] {
    return this.instances.map((i) => ({
      name: i.name,
      service: i.service,
      pid: i.child.pid,
      alive: !i.exit,
      grpcPort: i.grpcPort,
      tcpPort: i.tcpPort,
      wsPort: i.wsPort,
      tlsPort: i.tlsPort,
      httpPort: i.httpPort,
      legacyTcpPort: i.legacyTcpPort,
      metricsPort: i.metricsPort,
      inspectPort: i.inspectPort,
      logFile: i.logFile,
    }));
  }

  /** The env an instance was started with. */
  envOf(name: string): Readonly<Record<string, string>> {
    return this.instance(name).env;
  }

  /** The output of this run of `name` (last `lines` lines). */
  logTail(name: string, lines = LOG_TAIL_LINES): string {
    const inst = this.instance(name);
    return readTail(inst.logFile, inst.logOffset, lines);
  }

  /** Signals one instance and waits until it has exited. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const inst = this.instance(name);
    if (inst.exit) return;
    inst.child.kill(signal);
    await inst.exited;
  }

  /** Starts one more instance of `service` (e.g. after a kill); resolves with its name once ready. */
  async startInstance(service: ServiceName): Promise<string> {
    if (this.stopped) throw new Error('cluster is stopped');
    // Counted synchronously: instances of one batch start concurrently.
    const n = ++this.started[service];
    const name = service === 'login' && n === 1 ? 'login' : `${service}-${n}`;
    const inst = await this.spawnInstance(service, name);
    try {
      await this.waitReady(inst);
    } catch (err) {
      const tail = readTail(inst.logFile, inst.logOffset, LOG_TAIL_LINES);
      const reason = err instanceof Error ? err.message : String(err);
      throw new ClusterError(`${name}: ${reason}\n--- ${inst.logFile} (tail) ---\n${tail}`);
    }
    return name;
  }

  /** SIGTERM to every running instance, SIGKILL after 5 s, waits for all; idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const running = this.instances.filter((i) => !i.exit);
    for (const inst of running) inst.child.kill('SIGTERM');
    const all = Promise.all(running.map((i) => i.exited));
    const timer = setTimeout(() => {
      for (const inst of running) if (!inst.exit) inst.child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    try {
      await all;
    } finally {
      clearTimeout(timer);
      process.off('exit', this.onParentExit);
    }
    for (const dir of this.fileDirs) rmSync(dir, { recursive: true, force: true });
    try {
      // Bounded: a test that broke etcd must not hang its afterAll here.
      await withTimeout(this.watcher.cancel(), 3_000, 'etcd watch cancel timed out');
      // Leases expire on their own; deleting now keeps etcd tidy between tests.
      await withTimeout(this.etcd.delete().prefix(`${this.prefix}/`).exec(), 3_000, 'etcd clean-up timed out');
    } finally {
      this.etcd.close();
    }
  }

  private instance(name: string): Instance {
    const inst = this.instances.find((i) => i.name === name);
    if (!inst) throw new Error(`no instance named ${name} (have: ${this.instances.map((i) => i.name).join(', ')})`);
    return inst;
  }

  /** Made on first use by msfs or the file server; removed by stop(). */
  private sharedStorageDir(name: string): string {
    if (this.storageDir === undefined) {
      this.storageDir = mkdtempSync(path.join(os.tmpdir(), `tt-storage-${name}-`));
      this.fileDirs.push(this.storageDir);
    }
    return this.storageDir;
  }

  /** The first running file server's client port (TeamTalk PDUs over TCP). */
  get filePort(): number {
    const file = this.instances.find((i) => i.service === 'file' && !i.exit);
    if (!file || file.tcpPort === undefined) throw new Error('cluster has no running file server');
    return file.tcpPort;
  }

  /** The storage directory msfs and the file server share. */
  get storagePath(): string {
    if (this.storageDir === undefined) throw new Error('cluster has no msfs or file server');
    return this.storageDir;
  }

  private async spawnInstance(service: ServiceName, name: string): Promise<Instance> {
    const main = path.join(repoRoot, 'services', service, 'dist', 'main.js');
    if (!existsSync(main)) throw new ClusterError(`${main} is missing; run \`npm run build\` first`);

    let grpcPort = await freePort();
    const env: Record<string, string> = {
      TT_ETCD_ENDPOINTS: (this.spec.etcdEndpoints ?? testConfig.etcdEndpoints).join(','),
      TT_ETCD_PREFIX: this.prefix,
      TT_LEASE_TTL_SEC: '3',
      TT_INSTANCE_ID: name,
      TT_LOG_LEVEL: 'info',
      TT_GRPC_HOST: '127.0.0.1',
      TT_GRPC_PORT: String(grpcPort),
      // Test clusters may use built-in development secrets (passwordless MySQL, default Redis URLs).
      TT_ENV: 'development',
      ...(this.spec.insecure ? { TT_GRPC_INSECURE: 'true' } : tlsEnv(testPki(), service)),
    };
    // login answers /metrics on its HTTP port.
    if (service !== 'login') env.TT_METRICS_PORT = String(await freePort());
    if (this.spec.etcdTls) {
      env.TT_ETCD_CA = this.spec.etcdTls.ca;
      // Without tier certificates, the cluster's etcd client certificate serves.
      if (this.spec.insecure) Object.assign(env, { TT_ETCD_CERT: this.spec.etcdTls.cert, TT_ETCD_KEY: this.spec.etcdTls.key });
    }
    let tcpPort: number | undefined;
    let wsPort: number | undefined;
    let tlsPort: number | undefined;
    let httpPort: number | undefined;
    let legacyTcpPort: number | undefined;
    switch (service) {
      case 'db-proxy': {
        const redis = testConfig.redisUrl(this.spec.redisDbs?.dbProxy ?? testConfig.dbProxyRedisDb);
        Object.assign(env, {
          TT_MYSQL_MASTER_URL: testConfig.mysqlTestUrl,
          TT_MYSQL_REPLICA_URL: testConfig.mysqlTestUrl,
          TT_REDIS_UNREAD_URL: redis,
          TT_REDIS_GROUP_SET_URL: redis,
          TT_REDIS_TOKEN_URL: redis,
          TT_REDIS_SYNC_URL: redis,
          TT_REDIS_GROUP_MEMBER_URL: redis,
          // Every test client connects from 127.0.0.1: per-IP login limits sized for one address would refuse
          // the suites' logins (a test of the limits sets its own through serviceEnv).
          TT_LOGIN_IP_RATE_LIMIT: '1000000',
          TT_LOGIN_IP_FAIL_LIMIT: '1000000',
        });
        break;
      }
      case 'route':
        env.TT_SESSION_REDIS_URL = testConfig.redisUrl(this.spec.redisDbs?.route ?? testConfig.routeRedisDb);
        break;
      case 'msg':
        tcpPort = await freePort();
        wsPort = await freePort();
        Object.assign(env, {
          TT_TCP_PORT: String(tcpPort),
          TT_WS_PORT: String(wsPort),
          TT_LISTEN_HOST: '127.0.0.1',
          TT_IP1: '127.0.0.1',
          TT_IP2: '127.0.0.1',
        });
        if (this.tlsDir !== undefined) {
          tlsPort = await freePort();
          Object.assign(env, {
            TT_TLS_TCP_PORT: String(tlsPort),
            TT_CLIENT_TLS_CERT: path.join(this.tlsDir, 'msg.crt'),
            TT_CLIENT_TLS_KEY: path.join(this.tlsDir, 'msg.key'),
          });
        }
        break;
      case 'msfs': {
        httpPort = await freePort();
        Object.assign(env, { TT_MSFS_HTTP_PORT: String(httpPort), TT_MSFS_HTTP_HOST: '127.0.0.1', TT_MSFS_DIR: this.sharedStorageDir(name) });
        break;
      }
      case 'file':
        tcpPort = await freePort();
        Object.assign(env, { TT_FILE_PORT: String(tcpPort), TT_FILE_HOST: '127.0.0.1', TT_FILE_PUBLIC_IP: '127.0.0.1', TT_MSFS_DIR: this.sharedStorageDir(name) });
        break;
      case 'login':
        httpPort = await freePort();
        // Its fixed default (8008) would collide with a `make up` cluster or a second login.
        legacyTcpPort = await freePort();
        Object.assign(env, {
          TT_HTTP_PORT: String(httpPort),
          TT_HTTP_HOST: '127.0.0.1',
          TT_LEGACY_TCP_PORT: String(legacyTcpPort),
        });
        if (this.tlsDir !== undefined && this.loginTls) {
          Object.assign(env, { TT_CLIENT_TLS_CERT: path.join(this.tlsDir, 'login.crt'), TT_CLIENT_TLS_KEY: path.join(this.tlsDir, 'login.key') });
        }
        break;
    }
    Object.assign(env, this.spec.serviceEnv?.[service] ?? {}, this.spec.env ?? {});
    // Overrides may move ports; readiness must probe what the process really uses.
    grpcPort = Number(env.TT_GRPC_PORT);
    if (tcpPort !== undefined) tcpPort = Number(service === 'file' ? env.TT_FILE_PORT : env.TT_TCP_PORT);
    if (wsPort !== undefined) wsPort = Number(env.TT_WS_PORT);
    if (env.TT_TLS_TCP_PORT !== undefined) tlsPort = Number(env.TT_TLS_TCP_PORT);
    if (httpPort !== undefined) httpPort = Number(service === 'msfs' ? env.TT_MSFS_HTTP_PORT : env.TT_HTTP_PORT);
    if (legacyTcpPort !== undefined) legacyTcpPort = Number(env.TT_LEGACY_TCP_PORT);
    // An override of 0 ("any free port") is known only to the process (its etcd meta): left undefined here.
    const metricsPort = env.TT_METRICS_PORT === undefined ? httpPort : Number(env.TT_METRICS_PORT) || undefined;

    const inspectPort = this.spec.inspect?.includes(service) ? await freePort() : undefined;
    const inspectArgs = inspectPort === undefined ? [] : [`--inspect=127.0.0.1:${inspectPort}`];

    const logFile = path.join(this.logDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    let logOffset: number;
    try {
      writeSync(fd, `\n=== ${new Date().toISOString()} ${name} prefix=${this.prefix} ===\n`);
      logOffset = statSync(logFile).size;
      child = spawn(process.execPath, [...nodeArgs(), ...inspectArgs, main], {
        cwd: repoRoot,
        env: { ...inheritedEnv(), ...env },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(fd);
    }
    const inst: Instance = {
      name,
      service,
      child,
      env,
      grpcPort,
      tcpPort,
      wsPort,
      tlsPort,
      httpPort,
      legacyTcpPort,
      metricsPort,
      inspectPort,
      https: service === 'login' && env.TT_CLIENT_TLS_CERT !== undefined,
      logFile,
      logOffset,
      exited: new Promise<Exit>((resolve) => {
        child.once('exit', (code, signal) => {
          inst.exit = { code, signal };
          resolve(inst.exit);
        });
        child.once('error', (err) => {
          inst.exit = { code: null, signal: null };
          writeLog(logFile, `spawn error: ${err.message}\n`);
          resolve(inst.exit);
        });
      }),
    };
    this.instances.push(inst);
    return inst;
  }

  private async waitReady(inst: Instance): Promise<void> {
    const need = READINESS[inst.service];
    const key = `${this.prefix}/services/${inst.service}/${inst.name}`;
    let waitingFor = '';
    await waitFor(
      async () => {
        if (inst.exit) {
          throw new Error(`exited (code ${inst.exit.code}, signal ${inst.exit.signal}) before it was ready`);
        }
        const missing: string[] = [];
        if (need.registers && !this.registered.has(key)) missing.push(`etcd key ${key}`);
        // A TLS-only gateway (TT_PLAIN_TCP=false) is probed on its TLS port.
        const tcpProbe = inst.env.TT_PLAIN_TCP === 'false' ? inst.tlsPort : inst.tcpPort;
        if (need.tcp && tcpProbe !== undefined && !(await canConnect(tcpProbe))) {
          missing.push(`TCP port ${tcpProbe}`);
        }
        if (need.http && inst.httpPort !== undefined && !(await httpAnswers(inst.httpPort, inst.https === true ? this.caFile : undefined))) {
          missing.push(`HTTP port ${inst.httpPort}`);
        }
        waitingFor = missing.join(' and ');
        return missing.length === 0;
      },
      READY_TIMEOUT_MS,
      { intervalMs: 100, what: `readiness of ${inst.name}` },
    ).catch((err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      const watch = this.watchError ? `; etcd watch failed: ${this.watchError.message}` : '';
      throw new Error(inst.exit ? reason : `${reason} (still missing: ${waitingFor}${watch})`);
    });
  }
}

/** NODE_ARGS (as deploy/local/up.sh takes it, e.g. `--cpu-prof --cpu-prof-dir=DIR`) for every service process. */
function nodeArgs(): string[] {
  return (process.env.NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
}

/** The parent's env without TT_* keys, so a developer's shell settings cannot leak into tests. */
function inheritedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('TT_')) out[k] = v;
  }
  return out;
}

function httpAnswers(port: number, caFile?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const options = { host: '127.0.0.1', port, path: '/msg_server', timeout: 1000 };
    const onResponse = (res: http.IncomingMessage): void => {
      res.resume();
      resolve(true);
    };
    const req = caFile !== undefined ? https.get({ ...options, ca: readFileSync(caFile) }, onResponse) : http.get(options, onResponse);
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

function readTail(file: string, offset: number, lines: number): string {
  if (!existsSync(file)) return '(no log file)';
  const text = readFileSync(file).subarray(offset).toString('utf8');
  return text.split('\n').slice(-lines).join('\n');
}

function writeLog(file: string, line: string): void {
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, line);
  } finally {
    closeSync(fd);
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  // If the timeout wins, p may still reject later; that failure is already
  // reported as the timeout, and must not surface as an unhandled rejection.
  p.catch(discardLateFailure);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterError(message)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function discardLateFailure(): void {
  // Intentionally nothing: see withTimeout.
}
