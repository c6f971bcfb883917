// CLI: create the database if missing, apply pending migrations, optionally seed
// the demo users. `node services/db-proxy/dist/migrate-main.js [--seed-demo]`
// with TT_MYSQL_MIGRATE_URL: an account allowed DDL (deploy/sql/grants.sql's
// tiertalk_migrate). db-proxy itself runs no DDL, so its own account
// (TT_MYSQL_MASTER_URL) needs only SELECT/INSERT/UPDATE/DELETE; without
// TT_MYSQL_MIGRATE_URL this falls back to TT_MYSQL_MASTER_URL (one account for
// both, as `make up`'s root), default mysql://root@127.0.0.1:3306/teamtalk.
// Message shards on other servers (TT_MYSQL_SHARDS, docs/OPERATIONS.md): each
// such server's database gets the same migrations (its shard tables and the
// IMMsgIdempotency keys written with them), through TT_MYSQL_SHARDS_MIGRATE
// (the same map with DDL accounts) or else TT_MYSQL_SHARDS.
import { parseArgs } from 'node:util';
import { createConnection } from 'mysql2/promise';
import {
  MIGRATIONS_DIR,
  ensureDatabase,
  runMigrations,
  seedDemo,
  splitDatabaseUrl,
} from './store/migrate';
import { parseShardMap } from './store/shard-map';

const DEFAULT_URL = 'mysql://root@127.0.0.1:3306/teamtalk';
const USAGE =
  'usage: migrate-main [--seed-demo]   (env TT_MYSQL_MIGRATE_URL, else TT_MYSQL_MASTER_URL, default ' +
  DEFAULT_URL +
  '; message shard servers: TT_MYSQL_SHARDS_MIGRATE, else TT_MYSQL_SHARDS)\n';

function out(line: string): void {
  process.stdout.write(line + '\n');
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** The command line; an unknown option or any other argument is an error naming it, with the usage. */
function parseCommandLine(argv: string[]): { seed: boolean; help: boolean } {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { 'seed-demo': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    return { seed: values['seed-demo'] === true, help: values.help === true };
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const { seed, help } = parseCommandLine(argv);
  if (help) {
    process.stdout.write(USAGE);
    return;
  }

  const urlVar = process.env.TT_MYSQL_MIGRATE_URL ? 'TT_MYSQL_MIGRATE_URL' : 'TT_MYSQL_MASTER_URL';
  const url = process.env[urlVar] || DEFAULT_URL;
  if (splitDatabaseUrl(url).database === '') throw new Error(`${urlVar} has no database name: ${redact(url)}`);

  const shardsVar = process.env.TT_MYSQL_SHARDS_MIGRATE ? 'TT_MYSQL_SHARDS_MIGRATE' : 'TT_MYSQL_SHARDS';
  let shardUrls: string[];
  try {
    shardUrls = parseShardMap(process.env[shardsVar] ?? '').map((p) => p.url);
  } catch (err) {
    throw new Error(`${shardsVar}: ${err instanceof Error ? err.message : String(err)}`);
  }

  const conn = await migrate(url);
  try {
    for (const shardUrl of shardUrls) await (await migrate(shardUrl)).end();
    if (seed) {
      const res = await seedDemo(conn);
      out(
        res.created.length === 0
          ? `seed: demo users already present (department id ${res.departId})`
          : `seed: created ${res.created.join(', ')} in department id ${res.departId} (password "tiertalk")`,
      );
    }
  } finally {
    await conn.end();
  }
}

/** Creates the URL's database if missing and applies the pending migrations; returns the open connection. */
async function migrate(url: string) {
  const { serverUrl, database } = splitDatabaseUrl(url);
  if (database === '') throw new Error(`no database name in ${redact(url)}`);
  await ensureDatabase(serverUrl, database);
  const conn = await createConnection(url);
  try {
    const applied = await runMigrations(conn, MIGRATIONS_DIR, { info: (msg) => out(`migrate: ${msg}`) });
    out(applied.length === 0 ? `migrate: ${redact(url)} is up to date` : `migrate: ${redact(url)}: applied ${applied.join(', ')}`);
  } catch (err) {
    await conn.end().catch(() => undefined);
    throw err;
  }
  return conn;
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    const code = typeof err === 'object' && err !== null && 'code' in err ? ` [${String(err.code)}]` : '';
    process.stderr.write(`migrate: FAILED${code}: ${msg}\n`);
    if (code.includes('ER_ACCESS_DENIED')) {
      process.stderr.write('migrate: check the user/password in TT_MYSQL_MIGRATE_URL (or TT_MYSQL_MASTER_URL)\n');
    } else if (code.includes('DENIED')) {
      process.stderr.write('migrate: migrations need DDL privileges: use the migration account (deploy/sql/grants.sql) in TT_MYSQL_MIGRATE_URL\n');
    } else if (code.includes('ECONNREFUSED')) {
      process.stderr.write('migrate: is MariaDB/MySQL running at that address?\n');
    }
    process.exit(1);
  },
);
