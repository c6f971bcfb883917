// Operator's group admin CLI: `node services/db-proxy/dist/admin-cli.js <command> ...`
// (usage in admin-cli-args.ts). Finds db-proxy and route in etcd like the
// services do, calls db-proxy's group RPCs, and delivers the members'
// notifies through route. Exit codes: 0 done, 1 refused, 2 usage or connection error.
import * as grpc from '@grpc/grpc-js';
import { createLogger, type Logger } from '@tiertalk/log';
import { RouteService, tiertalk, type DeliverReport, type EnvelopeBatch } from '@tiertalk/proto';
import { ConfigError, commonConfigSchema, loadConfig } from '@tiertalk/config';
import { Registry, etcdAccessFromConfig } from '@tiertalk/registry';
import { InstancePool, NoInstanceError, callWithFailover, errorCode, openBidi, rpcSecurityFromConfig, type RpcSecurity } from '@tiertalk/rpc';
import { ADMIN_USAGE, UsageError, parseAdminArgs } from './admin-cli-args';
import { RefusedError, runAdminCommand, type AdminLink } from './admin-cli-ops';

const EXIT_OK = 0;
const EXIT_REFUSED = 1;
const EXIT_USAGE = 2;

// db-proxy's refusals (unary.ts RequestError) are answers, not failures.
const REFUSAL_STATUSES = new Set([grpc.status.PERMISSION_DENIED, grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.FAILED_PRECONDITION]);

interface CliEnv {
  /** The TLS and etcd keys every service reads; the operator's certificate is admin.crt. */
  common: ReturnType<typeof loadCommonKeys>;
  etcdEndpoints: string[];
  etcdPrefix: string;
  deadlineMs: number;
  logLevel: string;
}

const cliKeys = commonConfigSchema.pick({
  TT_ETCD_ENDPOINTS: true,
  TT_TLS_CA: true,
  TT_TLS_CERT: true,
  TT_TLS_KEY: true,
  TT_GRPC_INSECURE: true,
  TT_ETCD_CA: true,
  TT_ETCD_CERT: true,
  TT_ETCD_KEY: true,
  TT_ETCD_USERNAME: true,
  TT_ETCD_PASSWORD: true,
});

function loadCommonKeys(env: NodeJS.ProcessEnv) {
  try {
    return loadConfig(cliKeys, { env, service: 'admin-cli' });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

function readEnv(env: NodeJS.ProcessEnv): CliEnv {
  const deadlineMs = Number(env.TT_DB_DEADLINE_MS ?? 5000);
  if (!Number.isInteger(deadlineMs) || deadlineMs < 1) throw new UsageError(`TT_DB_DEADLINE_MS must be a positive integer, got ${String(env.TT_DB_DEADLINE_MS)}`);
  return {
    common: loadCommonKeys(env),
    etcdEndpoints: (env.TT_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    etcdPrefix: env.TT_ETCD_PREFIX ?? '/tiertalk',
    deadlineMs,
    logLevel: env.TT_LOG_LEVEL ?? 'error',
  };
}

/** One batch on a Route.Deliver stream; resolves on route's report for it. */
function deliverOnce(client: grpc.Client, batch: EnvelopeBatch, deadlineMs: number): Promise<DeliverReport> {
  return new Promise((resolve, reject) => {
    const stream = openBidi(client, RouteService.Deliver);
    let report: DeliverReport | undefined;
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`route did not confirm the notify within ${deadlineMs} ms`));
    }, deadlineMs);
    stream.on('data', (r: DeliverReport) => {
      report = r;
    });
    stream.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on('end', () => {
      clearTimeout(timer);
      if (report) resolve(report);
      else reject(new Error('route closed the deliver stream without a report'));
    });
    stream.write(batch);
    stream.end();
  });
}

async function withCluster<T>(env: CliEnv, log: Logger, run: (link: AdminLink) => Promise<T>): Promise<T> {
  // mTLS with the operator's certificate (TT_TLS_CERT=admin.crt): db-proxy and route allow "admin" group administration only.
  const security: RpcSecurity = rpcSecurityFromConfig(env.common, { service: 'admin-cli', bindHost: undefined, logger: log });
  const etcdAccess = etcdAccessFromConfig(env.common, 'admin-cli');
  const registry = await Registry.connect({ endpoints: env.etcdEndpoints, prefix: env.etcdPrefix, leaseTtlSec: 5, logger: log, ...etcdAccess });
  const pools: InstancePool[] = [];
  try {
    const dbPool = new InstancePool(await registry.watch('db-proxy'), { logger: log, security });
    pools.push(dbPool);
    const routePool = new InstancePool(await registry.watch('route'), { logger: log, security });
    pools.push(routePool);
    if (dbPool.size === 0) throw new NoInstanceError('db-proxy');
    const link: AdminLink = {
      call: (method, req) => callWithFailover(dbPool, method, req, { deadlineMs: env.deadlineMs }),
      deliver: async (envelopes: tiertalk.Envelope.$Properties[]) => {
        const route = routePool.pick();
        if (!route) throw new NoInstanceError('route');
        const report = await deliverOnce(route.client, tiertalk.EnvelopeBatch.create({ items: envelopes.map((e) => tiertalk.Envelope.create(e)) }), env.deadlineMs);
        log.info({ envelopes: report.envelopes, pushes: report.pushes }, 'notify delivered');
      },
    };
    return await run(link);
  } finally {
    for (const p of pools) p.close();
    if (security.kind === 'mtls') security.files.close();
    await registry.close();
  }
}

function describeFailure(err: unknown): string {
  if (err instanceof NoInstanceError) return `no ${err.message.includes('route') ? 'route' : 'db-proxy'} instance registered in etcd (${err.message})`;
  return err instanceof Error ? err.message : String(err);
}

async function main(argv: readonly string[]): Promise<number> {
  let inv;
  let env: CliEnv;
  try {
    inv = parseAdminArgs(argv);
    env = readEnv(process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`admin-cli: ${err.message}\n\n${ADMIN_USAGE}`);
    return EXIT_USAGE;
  }
  if (inv === undefined) {
    process.stdout.write(ADMIN_USAGE);
    return EXIT_OK;
  }
  const invocation = inv;
  const log = createLogger({ service: 'admin-cli', instanceId: `admin-cli-${process.pid}`, level: env.logLevel, destination: process.stderr });
  try {
    const out = await withCluster(env, log, (link) => runAdminCommand(link, invocation));
    process.stdout.write(invocation.json ? `${JSON.stringify(out.json)}\n` : out.lines.map((l) => `${l}\n`).join(''));
    return EXIT_OK;
  } catch (err) {
    if (err instanceof RefusedError || (!(err instanceof NoInstanceError) && REFUSAL_STATUSES.has(errorCode(err)))) {
      process.stderr.write(`admin-cli: refused: ${describeFailure(err)}\n`);
      return EXIT_REFUSED;
    }
    process.stderr.write(`admin-cli: failed: ${describeFailure(err)}\n`);
    return EXIT_USAGE;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`admin-cli: failed: ${describeFailure(err)}\n`);
    process.exit(EXIT_USAGE);
  },
);
