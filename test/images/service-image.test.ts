// Smoke test of one service image (route): `make images`' build (deploy/local/images.sh, podman,
// local Debian + Node base, cached between runs), then the container against this machine's etcd
// and Redis with host networking, in production mode with its key from a secret file.
// Skipped, saying why, only where podman is not installed (.ci/run installs it).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { deletePrefix, freePort, repoRoot, testConfig, testEtcd, uniquePrefix, waitFor } from '@tiertalk/testkit';

const run = promisify(execFile);
const IMAGE = 'tiertalk/route:local';
const hasPodman = spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasPodman) {
  process.stderr.write('test/images/service-image.test.ts skipped: podman is not installed (apt-get install podman debootstrap runc; .ci/run does)\n');
}
const describeWithEngine = hasPodman ? describe : describe.skip;

async function podman(...args: string[]): Promise<string> {
  const { stdout } = await run('podman', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** `podman exec` as the image's user; stdout. */
const exec = (id: string, ...cmd: string[]): Promise<string> => podman('exec', id, ...cmd);

describeWithEngine('the route image', () => {
  jest.setTimeout(60_000);
  const prefix = uniquePrefix();
  const secrets = mkdtempSync(path.join(os.tmpdir(), 'tt-image-secrets-'));
  let containerId = '';
  let metricsPort = 0;

  beforeAll(async () => {
    // Reuses the cached base image and build layers; a fresh machine builds the base once (minutes).
    const log = path.join(repoRoot, '.run/images-test-build.log');
    mkdirSync(path.dirname(log), { recursive: true });
    try {
      const { stdout, stderr } = await run('bash', [path.join(repoRoot, 'deploy/local/images.sh'), 'route'], {
        cwd: repoRoot,
        maxBuffer: 64 * 1024 * 1024,
      });
      writeFileSync(log, stdout + stderr);
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      writeFileSync(log, `${e.stdout ?? ''}${e.stderr ?? ''}`);
      throw new Error(`deploy/local/images.sh route failed (log ${log}): ${(e.stderr ?? e.message).slice(-2000)}`);
    }

    // The AES key as a secret file the container's user (uid 1000) can read.
    chmodSync(secrets, 0o755);
    writeFileSync(path.join(secrets, 'aes_key'), randomBytes(16).toString('hex'), { mode: 0o644 });
    const [grpcPort, port] = [await freePort(), await freePort()];
    metricsPort = port;
    const runArgs = execFileSync('bash', [path.join(repoRoot, 'deploy/local/images.sh'), 'run-args'], { encoding: 'utf8' })
      .split('\n')
      .filter((a) => a !== '');
    containerId = await podman(
      'run', '--detach', ...runArgs, '--network', 'host',
      '--volume', `${secrets}:/run/secrets/tiertalk:ro`,
      '--env', 'TT_AES_KEY_FILE=/run/secrets/tiertalk/aes_key',
      '--env', `TT_ETCD_ENDPOINTS=${testConfig.etcdEndpoints.join(',')}`,
      '--env', `TT_ETCD_PREFIX=${prefix}`,
      '--env', 'TT_INSTANCE_ID=route-image',
      '--env', 'TT_GRPC_HOST=127.0.0.1',
      '--env', `TT_GRPC_PORT=${grpcPort}`,
      // Loopback only, so plaintext gRPC is allowed (no PKI needed for this smoke test).
      '--env', 'TT_GRPC_INSECURE=true',
      '--env', `TT_METRICS_PORT=${metricsPort}`,
      '--env', `TT_SESSION_REDIS_URL=${testConfig.redisUrl(testConfig.routeRedisDb)}`,
      IMAGE,
    );
  }, 25 * 60_000);

  afterAll(async () => {
    if (containerId !== '') await podman('rm', '--force', '--time', '5', containerId).catch(() => undefined);
    await deletePrefix(prefix);
    rmSync(secrets, { recursive: true, force: true });
  });

  const registered = async (): Promise<boolean> => {
    const etcd = testEtcd();
    try {
      return (await etcd.get(`${prefix}/services/route/route-image`).string()) !== null;
    } finally {
      etcd.close();
    }
  };

  async function logs(): Promise<string> {
    const { stdout, stderr } = await run('podman', ['logs', '--tail', '30', containerId]);
    return stdout + stderr;
  }

  it('starts in production mode as a non-root user, registers in etcd and answers /healthz; its HEALTHCHECK passes', async () => {
    await waitFor(registered, 30_000, { what: 'route registered in etcd' }).catch(async (err: Error) => {
      throw new Error(`${err.message}; container log:\n${await logs()}`);
    });
    const res = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(res.status).toBe(200);
    // The image's own HEALTHCHECK command, run by the engine.
    const health = spawnSync('podman', ['healthcheck', 'run', containerId], { encoding: 'utf8' });
    expect({ status: health.status, out: health.stdout.trim() }).toEqual({ status: 0, out: expect.not.stringContaining('unhealthy') });
    expect(await exec(containerId, 'id', '-u')).toBe('1000');
    expect(await podman('top', containerId, 'user', 'args')).toMatch(/^USER\s+COMMAND\nnode\s+node main\.js$/);
    expect(await podman('image', 'inspect', '--format', '{{.Config.User}}', IMAGE)).toBe('node');
  });

  it('holds route and its libs only: no other service, no test, no TypeScript source, no dev dependency', async () => {
    expect((await exec(containerId, 'ls', '/app/services')).split('\n')).toEqual(['route']);
    // The libs route depends on (static.test.ts checks the list against the package.json files).
    const needed: string[] = JSON.parse(execFileSync('node', [path.join(repoRoot, 'deploy/docker/workspace-slice.js'), 'list', 'route', repoRoot], { encoding: 'utf8' }));
    const libs = needed.filter((d) => d.startsWith('libs/')).map((d) => d.slice('libs/'.length)).sort();
    expect((await exec(containerId, 'ls', '/app/libs')).split('\n')).toEqual(libs);
    expect((await exec(containerId, 'ls', '/app/node_modules/@tiertalk')).split('\n')).toEqual([...libs, 'route'].sort());
    const strays = await exec(
      containerId, 'find', '/app', '-path', '/app/node_modules', '-prune', '-o',
      '(', '-name', '*.test.*', '-o', '-name', 'test', '-o', '-name', '*.tsbuildinfo', '-o', '(', '-name', '*.ts', '!', '-name', '*.d.ts', ')', ')', '-print',
    );
    expect(strays).toBe('');
    const devOnly = ['typescript', 'jest', 'ts-jest', 'protobufjs-cli', 'dockerfile-ast', 'fast-check'];
    const present = await exec(containerId, 'sh', '-c', devOnly.map((d) => `[ ! -e /app/node_modules/${d} ] || echo ${d}`).join('; '));
    expect(present).toBe('');
    // The code is root's and read-only to the service.
    expect(await exec(containerId, 'sh', '-c', 'touch /app/services/route/dist/main.js 2>&1 || echo refused')).toContain('refused');
  });

  it('stops cleanly on SIGTERM and leaves etcd', async () => {
    await podman('stop', '--time', '15', containerId);
    expect(await podman('inspect', '--format', '{{.State.ExitCode}}', containerId)).toBe('0');
    expect(await registered()).toBe(false);
  });
});
