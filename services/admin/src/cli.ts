// The operator's admin CLI: `tiertalk-admin <area> <command> ...` (usage in
// cli-args.ts). Finds db-proxy and route in etcd like the services do and runs
// one operation (operations.ts) with the operator's certificate.
// Exit codes: 0 done, 1 refused, 2 usage, 3 cluster unreachable or failed.
import { ConfigError } from '@tiertalk/config';
import { createLogger } from '@tiertalk/log';
import { ADMIN_USAGE, UsageError, parseAdminArgs, withPassword, type CliInvocation } from './cli-args';
import { ClusterLink, OpsError, toOpsError } from '@tiertalk/cluster-ops';
import { loadAdminCliConfig, type AdminCliConfig } from './config';
import { runCommand } from './operations';
import { readPassword } from './password-input';

function fail(err: OpsError, json: boolean): number {
  process.stderr.write(json ? `${JSON.stringify({ error: { code: err.code, message: err.message } })}\n` : `tiertalk-admin: ${err.code}: ${err.message}\n`);
  if (err instanceof UsageError && !json) process.stderr.write(`\n${ADMIN_USAGE}`);
  return err.exitCode;
}

async function main(argv: readonly string[]): Promise<number> {
  let inv: CliInvocation | undefined;
  let config: AdminCliConfig;
  try {
    inv = parseAdminArgs(argv);
    config = loadAdminCliConfig();
  } catch (err) {
    if (err instanceof ConfigError) return fail(new UsageError(err.message), false);
    if (err instanceof OpsError) return fail(err, false);
    throw err;
  }
  if (inv === undefined) {
    process.stdout.write(ADMIN_USAGE);
    return 0;
  }
  const { json } = inv;
  let command = inv.command;
  try {
    if (inv.password) command = withPassword(command, await readPassword(inv.password.file, { stdin: process.stdin, stderr: process.stderr }));
  } catch (err) {
    return fail(toOpsError(err), json);
  }
  const log = createLogger({ service: 'admin-cli', instanceId: `admin-cli-${process.pid}`, level: config.TT_LOG_LEVEL, destination: process.stderr });
  let link: ClusterLink | undefined;
  try {
    link = await ClusterLink.open(config, log, 'admin-cli');
    const out = await runCommand(link, command);
    process.stdout.write(json ? `${JSON.stringify(out.json)}\n` : out.lines.map((l) => `${l}\n`).join(''));
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) return fail(new UsageError(err.message), json);
    return fail(toOpsError(err), json);
  } finally {
    await link?.close().catch(() => undefined);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tiertalk-admin: internal: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(3);
  },
);
