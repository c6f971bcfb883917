import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { createLogger } from '@tiertalk/log';
import { sampleValue } from '@tiertalk/metrics';
import { InstanceInfo, Registry } from './index';

// Recovery needs an etcd we may kill, so this file runs its own etcd process
// on free ports instead of the shared one.
const ETCD_BIN = process.env.TT_ETCD_BIN ?? '/usr/bin/etcd';
const PREFIX = '/tt-test-recovery';
const logger = createLogger({ service: 'registry-recovery-test', instanceId: 't', level: 'silent' });

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  srv.close();
  await once(srv, 'close');
  return addr.port;
}

async function eventually(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class EtcdProcess {
  private proc: ChildProcess | undefined;
  private dataDir = '';
  constructor(
    readonly clientPort: number,
    private readonly peerPort: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  async start(): Promise<void> {
    this.dataDir = mkdtempSync(join(tmpdir(), 'tt-etcd-'));
    this.proc = spawn(
      ETCD_BIN,
      [
        '--name', `tt-${this.clientPort}`,
        '--data-dir', this.dataDir,
        '--listen-client-urls', this.url,
        '--advertise-client-urls', this.url,
        '--listen-peer-urls', `http://127.0.0.1:${this.peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${this.peerPort}`,
        '--initial-cluster', `tt-${this.clientPort}=http://127.0.0.1:${this.peerPort}`,
      ],
      { stdio: 'ignore' },
    );
    await eventually(async () => (await fetch(`${this.url}/version`).then((r) => r.ok, () => false)), 15000, 'etcd to start');
  }

  /** Kills etcd and throws its data away: leases and revisions are gone, as after a rebuilt cluster. */
  async killAndWipe(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p && p.exitCode === null) {
      p.kill('SIGKILL');
      await once(p, 'exit');
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function info(id: string): InstanceInfo {
  return { id, service: 'route', addr: `127.0.0.1:82${id.length}0`, load: 0, meta: {} };
}

describe('Registry recovery after an etcd restart (real etcd process)', () => {
  let etcd: EtcdProcess;
  const registries: Registry[] = [];

  beforeAll(async () => {
    etcd = new EtcdProcess(await freePort(), await freePort());
    await etcd.start();
  }, 30000);

  afterAll(async () => {
    await Promise.all(registries.map((r) => r.close()));
    await etcd.killAndWipe();
  });

  it('re-registers a live instance and the watch re-syncs (dropping the dead one)', async () => {
    const connect = async (): Promise<Registry> => {
      const r = await Registry.connect({ endpoints: [etcd.url], prefix: PREFIX, leaseTtlSec: 2, logger });
      registries.push(r);
      return r;
    };
    const live = await connect();
    const dead = await connect();
    const watcher = await connect();

    const w = await watcher.watch('route');
    const reg = await live.register(info('route-live'));
    const gone = await dead.register(info('route-dead'));
    let reRegistered = 0;
    reg.onReRegistered(() => {
      reRegistered += 1;
    });
    // What readiness follows (libs/health): registered, lost with etcd, registered again.
    const states: string[] = [];
    reg.onStateChange((s) => states.push(s.registered ? 'registered' : s.reason));
    await eventually(() => w.size === 2, 5000, 'both instances');
    await gone.abandon(); // its process "dies" with the etcd data

    const removed: string[] = [];
    w.on('removed', (id) => removed.push(id));
    await etcd.killAndWipe();
    await etcd.start();

    // The fresh etcd has no keys and no leases: the live one must put itself
    // back, and the watch must notice route-dead is gone without any delete event.
    await eventually(() => w.get('route-live') !== undefined && w.get('route-dead') === undefined, 25000, 'watch to converge');
    expect(removed).toContain('route-dead');
    // The gateway re-lists its sessions on this event (services/msg session-sync).
    await eventually(() => reRegistered >= 1, 5000, 'the re-registered event');
    expect(w.list().map((i) => i.id)).toEqual(['route-live']);
    expect(states[0]).toBe('registered');
    expect(states.slice(1, -1).some((s) => s.startsWith('etcd lease lost'))).toBe(true);
    expect(states.at(-1)).toBe('registered');
    expect(reg.registration).toEqual({ registered: true });

    const raw = new Etcd3({ hosts: [etcd.url] });
    try {
      expect(await raw.get(reg.key).string()).not.toBeNull();
    } finally {
      raw.close();
    }
    // The watch keeps working after recovery.
    await reg.update({ load: 9 });
    await eventually(() => w.get('route-live')?.load === 9, 5000, 'update after recovery');
    await reg.deregister();
    expect(reg.registration).toEqual({ registered: false, reason: 'deregistered' });
    await eventually(() => w.size === 0, 5000, 'removal after recovery');
  }, 60000);

  it('tt_registry_registered is 1 while the key is held, 0 once the lease is lost, 1 again after re-registering', async () => {
    const r = await Registry.connect({ endpoints: [etcd.url], prefix: PREFIX, leaseTtlSec: 2, logger });
    registries.push(r);
    const losses = await sampleValue('tt_registry_lease_losses_total');
    const reRegistered = await sampleValue('tt_registry_reregistrations_total');
    const reg = await r.register(info('route-gauge'));
    expect(reg.registered).toBe(true);
    expect(await sampleValue('tt_registry_registered')).toBe(1);

    await etcd.killAndWipe();
    await eventually(async () => (await sampleValue('tt_registry_registered')) === 0, 15000, 'the gauge to drop');
    expect(await sampleValue('tt_registry_lease_losses_total')).toBe(losses + 1);
    await etcd.start();
    await eventually(async () => (await sampleValue('tt_registry_registered')) === 1, 25000, 'the gauge to come back');
    expect(await sampleValue('tt_registry_reregistrations_total')).toBe(reRegistered + 1);

    await reg.deregister();
    expect(await sampleValue('tt_registry_registered')).toBe(0);
  }, 60000);
});
