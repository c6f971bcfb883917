// Static checks of the container build (no engine needed): the Dockerfile parses and has the
// properties issue 12 asks of every image, each service's slice holds only that service and its
// libs (no tests, no TypeScript sources), and compose.yml parses, references only what it
// defines and bakes in no secret.
import { execFile, execFileSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { parse as parseYaml } from 'yaml';
import { freePort, repoRoot } from '@tiertalk/testkit';

const DOCKERFILE = path.join(repoRoot, 'deploy/docker/Dockerfile');
const COMPOSE = path.join(repoRoot, 'deploy/docker/compose.yml');
const SLICE = path.join(repoRoot, 'deploy/docker/workspace-slice.js');
const SERVICES = ['db-proxy', 'route', 'msg', 'msfs', 'file', 'login', 'admin', 'push', 'http-api'];

const text = readFileSync(DOCKERFILE, 'utf8');
const dockerfile = DockerfileParser.parse(text);

/** The instructions of each build stage, in order (the last is the image). */
function stages(): Instruction[][] {
  const out: Instruction[][] = [];
  for (const ins of dockerfile.getInstructions()) {
    if (ins.getKeyword() === 'FROM') out.push([]);
    out.at(-1)?.push(ins);
  }
  return out;
}
const args = (ins: Instruction): string[] => ins.getArguments().map((a) => a.getValue());
const content = (ins: Instruction): string => ins.getArgumentsContent() ?? '';
const keyword = (k: string) => (ins: Instruction) => ins.getKeyword() === k;

function slice(command: string, service: string): string {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), `tt-slice-${service}-`)), 'out');
  execFileSync('node', [SLICE, command, service, repoRoot, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

/** Every file under dir, relative, symlinks as they are. */
function files(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = path.join(rel, e.name);
    return e.isDirectory() ? files(dir, p) : [p];
  });
}

describe('deploy/docker/Dockerfile', () => {
  it('parses without a diagnostic', () => {
    expect(validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('is multi-stage, every stage on the BASE_IMAGE argument, which defaults to the current Node LTS on Debian slim', () => {
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from.getImage()).toBe('${BASE_IMAGE}');
    const base = dockerfile.getInitialARGs().find((a) => a.getProperty()?.getName() === 'BASE_IMAGE');
    // Node 26: Active LTS since 2026-10-28; make images puts the same line into its local base.
    expect(base?.getProperty()?.getValue()).toBe('node:26-bookworm-slim');
    const imagesSh = readFileSync(path.join(repoRoot, 'deploy/local/images.sh'), 'utf8');
    expect(imagesSh).toMatch(/NODE_VERSION="\$\{NODE_VERSION:-26\.\d+\.\d+\}"/);
  });

  it('installs with npm ci limited to the service workspace, and only production dependencies reach the image', () => {
    const runs = stages().flatMap((s) => s.filter(keyword('RUN')).map(content));
    const installs = runs.filter((r) => /\bnpm (ci|install)\b/.test(r));
    expect(installs.length).toBeGreaterThanOrEqual(2);
    for (const r of installs) {
      expect(r).toMatch(/\bnpm ci\b/);
      expect(r).toContain('--workspace "services/$SERVICE"');
    }
    // The stage the image copies node_modules from installs with --omit=dev.
    const image = stages().at(-1) ?? [];
    const fromStages = image.filter((i): i is Copy => i instanceof Copy).map((c) => c.getFromFlag()?.getValue());
    expect(fromStages).toEqual(expect.arrayContaining(['deps', 'build']));
    const deps = stages().find((s) => s[0] && args(s[0]).includes('deps')) ?? [];
    expect(deps.filter(keyword('RUN')).map(content).join('\n')).toMatch(/npm ci --omit=dev/);
  });

  it('the image copies nothing from the context but its health check, and no stage copies a service by name', () => {
    const image = stages().at(-1) ?? [];
    const fromContext = image.filter((i): i is Copy => i instanceof Copy && i.getFromFlag() === null);
    expect(fromContext.map((c) => args(c).filter((a) => !a.startsWith('--')))).toEqual([
      ['deploy/docker/healthcheck.js', '/usr/local/lib/tiertalk/healthcheck.js'],
    ]);
    for (const c of dockerfile.getCOPYs()) {
      for (const s of SERVICES) expect(content(c)).not.toContain(`services/${s}`);
    }
    expect(image.some((i) => i.getKeyword() === 'ADD')).toBe(false);
  });

  it('runs as a non-root user, with a HEALTHCHECK on /healthz and a CMD', () => {
    const image = stages().at(-1) ?? [];
    const users = image.filter(keyword('USER')).map((u) => args(u)[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const health = image.find(keyword('HEALTHCHECK'));
    expect(health && content(health)).toContain('/usr/local/lib/tiertalk/healthcheck.js');
    expect(readFileSync(path.join(repoRoot, 'deploy/docker/healthcheck.js'), 'utf8')).toContain('/healthz`');
    expect(image.some(keyword('CMD'))).toBe(true);
  });

  it('the context leaves out installs, builds, tests and secrets, and keeps the two build helpers', () => {
    const ignore = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['**/node_modules', '**/dist', '.git', '.run', 'test', '**/test', '**/*.test.ts', '**/.env', '**/*.key', 'deploy']) {
      expect(ignore).toContain(p);
    }
    expect(ignore).toEqual(expect.arrayContaining(['!deploy/docker/workspace-slice.js', '!deploy/docker/healthcheck.js']));
  });
});

describe('workspace-slice: what each image is built from and ships', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(path.dirname(d), { recursive: true, force: true });
  });

  const closure = (service: string): string[] =>
    JSON.parse(execFileSync('node', [SLICE, 'list', service, repoRoot], { encoding: 'utf8' })) as string[];

  it('lists the service and, transitively, the libs in its package.json dependencies', () => {
    const manifest = (dir: string) => JSON.parse(readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> };
    const internal = (dir: string) => Object.keys(manifest(dir).dependencies ?? {}).filter((d) => d.startsWith('@tiertalk/'));
    for (const service of SERVICES) {
      const list = closure(service);
      expect(list[0]).toBe(`services/${service}`);
      expect(list.filter((d) => d.startsWith('services/'))).toEqual([`services/${service}`]);
      const names = list.map((d) => manifest(d).name);
      // Closed under dependencies, and nothing in it that no member depends on.
      for (const dir of list) for (const dep of internal(dir)) expect([dir, dep, names.includes(dep)]).toEqual([dir, dep, true]);
      const needed = new Set(list.flatMap(internal));
      for (const [dir, name] of list.slice(1).map((d) => [d, manifest(d).name])) expect([dir, needed.has(name)]).toEqual([dir, true]);
    }
  });

  it('refuses an unknown service and a path', () => {
    expect(() => execFileSync('node', [SLICE, 'list', 'nope', repoRoot], { stdio: 'pipe' })).toThrow(/services\/nope is not a workspace/);
    expect(() => execFileSync('node', [SLICE, 'list', '../libs', repoRoot], { stdio: 'pipe' })).toThrow(/not a service name/);
  });

  it.each(SERVICES)('%s: the build slice has its own sources and its libs, no other service and no test', (service) => {
    const out = slice('build', service);
    dirs.push(out);
    expect(readdirSync(path.join(out, 'services'))).toEqual([service]);
    expect(readdirSync(path.join(out, 'libs')).sort()).toEqual(closure(service).filter((d) => d.startsWith('libs/')).map((d) => d.slice(5)).sort());
    const all = files(out);
    expect(all).toContain(`services/${service}/src/main.ts`);
    expect(all.filter((f) => /\.test\.ts$|(^|\/)test\//.test(f) || f.includes('node_modules/'))).toEqual([]);
  });

  it.each(SERVICES)('%s: the runtime slice ships compiled code only (needs `npm run build`)', (service) => {
    const out = slice('runtime', service);
    dirs.push(out);
    expect(readdirSync(path.join(out, 'services'))).toEqual([service]);
    const all = files(out);
    expect(all).toContain(`services/${service}/dist/main.js`);
    expect(all.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || /\.test\.|(^|\/)test\/|\.tsbuildinfo$/.test(f))).toEqual([]);
    expect(path.join(out, readlinkSync(path.join(out, 'main.js')))).toBe(path.join(out, `services/${service}/dist/main.js`));
    if (service === 'db-proxy') expect(all).toContain('services/db-proxy/migrations/0001_teamtalk_schema.sql');
  });
});

describe('deploy/docker/compose.yml', () => {
  type Service = {
    image?: string;
    build?: { context: string; dockerfile: string; args?: Record<string, string> };
    environment?: Record<string, string>;
    depends_on?: string[] | Record<string, unknown>;
    volumes?: string[];
    secrets?: string[];
    user?: string;
    healthcheck?: { disable?: boolean };
    entrypoint?: string[];
  };
  const raw = readFileSync(COMPOSE, 'utf8');
  const compose = parseYaml(raw, { merge: true }) as {
    services: Record<string, Service>;
    volumes?: Record<string, unknown>;
    secrets?: Record<string, unknown>;
  };
  const services = Object.entries(compose.services);
  const tiertalk = services.filter(([, s]) => s.image?.startsWith('tiertalk/'));

  it('brings up etcd, MariaDB, Redis, migrations, db-proxy, push, route, two gateways, msfs, file, login and http-api', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['admin', 'db-proxy', 'etcd', 'file', 'http-api', 'login', 'mariadb', 'migrate', 'msfs', 'msg-1', 'msg-2', 'push', 'redis', 'route'].sort());
  });

  it('references only services, volumes and secrets it defines', () => {
    for (const [name, s] of services) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect([name, d, d in compose.services]).toEqual([name, d, true]);
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0];
        if (!/^[./$]/.test(source)) expect([name, source, source in (compose.volumes ?? {})]).toEqual([name, source, true]);
      }
      for (const sec of s.secrets ?? []) expect([name, sec, sec in (compose.secrets ?? {})]).toEqual([name, sec, true]);
    }
  });

  it('builds each TierTalk image from the one Dockerfile with its own SERVICE, run as the image user', () => {
    expect(tiertalk.map(([n]) => n).sort()).toEqual(['admin', 'db-proxy', 'file', 'http-api', 'login', 'migrate', 'msfs', 'msg-1', 'msg-2', 'push', 'route']);
    for (const [name, s] of tiertalk) {
      const service = s.image?.replace(/^tiertalk\/([a-z-]+):.*$/, '$1');
      expect([name, s.build?.dockerfile, s.build?.args?.SERVICE]).toEqual([name, 'deploy/docker/Dockerfile', service]);
      expect(s.user).toBeUndefined();
      if (name !== 'migrate') expect([name, s.healthcheck]).toEqual([name, undefined]);
      // Every service but login serves /healthz on its metrics port, which the health check needs.
      if (service !== 'login' && name !== 'migrate') expect([name, s.environment?.TT_METRICS_PORT]).toEqual([name, expect.stringMatching(/^\d+$/)]);
    }
  });

  it('bakes in no secret: passwords and keys come from the environment, required, without defaults', () => {
    const secretKey = /(PASSWORD|_KEY|SECRET|TOKEN|AUTH)$/;
    for (const [name, s] of services) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (key.endsWith('_FILE')) continue;
        if (secretKey.test(key) && key !== 'TT_TLS_KEY' && key !== 'TT_ETCD_KEY') {
          expect([name, key, value]).toEqual([name, key, expect.stringMatching(/^\$\{[A-Z0-9_]+:\?[^}]*\}$/)]);
        }
        // A password in a URL is always an interpolated variable.
        const m = /^[a-z]+:\/\/[^:/@]+:([^@]*)@/.exec(String(value));
        if (m) expect([name, key, m[1]]).toEqual([name, key, expect.stringMatching(/^\$\{[A-Z0-9_]+:\?[^}]*\}$/)]);
      }
    }
    // Nothing of the form ${TT_..._PASSWORD:-default} or ${TT_AES_KEY-default} anywhere.
    expect(raw.match(/\$\{[A-Z0-9_]*(PASSWORD|KEY|SECRET|TOKEN)[A-Z0-9_]*:?-[^}]*\}/g)).toBeNull();
  });

  it('mounts each service only its own certificate and key from the TLS directory (push: and its provider keys; msfs: its file volume), read-only', () => {
    for (const [name, s] of tiertalk.filter(([n]) => n !== 'migrate')) {
      const service = s.image?.replace(/^tiertalk\/([a-z-]+):.*$/, '$1');
      // push: its provider keys; msfs: its files in a named volume at the directory the image gives its user (the file server shares it).
      const extra =
        service === 'push' ? ['${TT_PUSH_CREDENTIALS_DIR:-./push-secrets}:/run/push:ro'] : service === 'msfs' || service === 'file' ? ['msfs-data:/var/lib/tiertalk/msfs'] : [];
      expect([name, s.volumes]).toEqual([
        name,
        ['${TT_TLS_DIR:-./tls}/ca.crt:/tls/ca.crt:ro', `\${TT_TLS_DIR:-./tls}/${service}.crt:/tls/service.crt:ro`, `\${TT_TLS_DIR:-./tls}/${service}.key:/tls/service.key:ro`, ...extra],
      ]);
    }
  });
});

describe('deploy/docker/healthcheck.js (the image HEALTHCHECK)', () => {
  const HEALTHCHECK = path.join(repoRoot, 'deploy/docker/healthcheck.js');
  let server: http.Server;
  let port = 0;
  let status = 200;
  const paths: string[] = [];

  beforeAll(async () => {
    port = await freePort();
    server = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(req.url === '/healthz' ? status : 404).end(req.url === '/healthz' ? 'ok' : 'not found');
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** Runs the check with exactly these variables; its exit code and stderr. */
  async function check(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
    try {
      await promisify(execFile)('node', [HEALTHCHECK], { env: { PATH: process.env.PATH ?? '', ...env } });
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { code?: number; stderr?: string };
      return { code: e.code ?? -1, stderr: e.stderr ?? '' };
    }
  }

  it('probes /healthz on the metrics port of db-proxy, route and msg, and on login\'s HTTP port', async () => {
    status = 200;
    paths.length = 0;
    expect(await check({ TT_SERVICE: 'route', TT_METRICS_PORT: String(port), TT_GRPC_HOST: '127.0.0.1' })).toEqual({ code: 0, stderr: '' });
    expect(await check({ TT_SERVICE: 'db-proxy', TT_METRICS_PORT: String(port), TT_METRICS_HOST: '0.0.0.0' })).toEqual({ code: 0, stderr: '' });
    expect(await check({ TT_SERVICE: 'login', TT_HTTP_PORT: String(port) })).toEqual({ code: 0, stderr: '' });
    expect(paths).toEqual(['/healthz', '/healthz', '/healthz']);
  });

  it('fails, saying why, when /healthz is not 2xx, nothing listens, or the service has no metrics port', async () => {
    status = 503;
    expect(await check({ TT_SERVICE: 'msg', TT_METRICS_PORT: String(port) })).toEqual({ code: 1, stderr: `healthcheck: http://127.0.0.1:${port}/healthz answered 503: ok\n` });
    const closed = await freePort();
    expect(await check({ TT_SERVICE: 'login', TT_HTTP_PORT: String(closed) })).toEqual({ code: 1, stderr: expect.stringContaining(`127.0.0.1:${closed}/healthz: connect ECONNREFUSED`) });
    expect(await check({ TT_SERVICE: 'route' })).toEqual({ code: 1, stderr: expect.stringContaining('TT_METRICS_PORT is not set: route serves /healthz on its metrics port') });
  });

  it('reads the ports from TT_CONFIG_FILE too, the environment winning', async () => {
    status = 200;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tt-healthcheck-'));
    try {
      const file = path.join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ TT_METRICS_PORT: port, TT_METRICS_HOST: '127.0.0.1' }));
      expect(await check({ TT_SERVICE: 'route', TT_CONFIG_FILE: file })).toEqual({ code: 0, stderr: '' });
      expect((await check({ TT_SERVICE: 'route', TT_CONFIG_FILE: file, TT_METRICS_PORT: String(await freePort()) })).code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
