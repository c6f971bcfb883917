import { Etcd3 } from 'etcd3';
import type { Logger } from '@tiertalk/log';
import { RegistryError } from './errors';
import { InstanceInfo, assertInstanceInfo, instanceKey, isName, serviceKeyPrefix } from './instance';
import { Registration } from './registration';
import { ServiceWatch } from './service-watch';

export interface RegistryOptions {
  endpoints: string[];
  /** Key prefix, e.g. "/tiertalk"; starts with "/", no trailing "/". */
  prefix: string;
  leaseTtlSec: number;
  logger: Logger;
  /**
   * How long a watched instance whose key vanished WITHOUT announcing that it
   * was leaving stays listed (default 3000 ms). An etcd outage or pause ends
   * every lease at once; instances put their keys again within a second or
   * two, and within this grace nobody sees them gone (no purge, no failover).
   * A dead instance is noticed by its callers' failing connections anyway.
   */
  removalGraceMs?: number;
  /** TLS to etcd (https:// endpoints): the CA, and a client certificate when etcd asks for one. */
  tls?: EtcdTls;
  /** etcd user and password (etcd auth). */
  auth?: { username: string; password: string };
}

export interface EtcdTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const DEFAULT_REMOVAL_GRACE_MS = 3000;

/** etcd service registry: `${prefix}/services/${service}/${id}` → JSON InstanceInfo on a lease. */
export class Registry {
  private readonly registrations = new Set<Registration>();
  private readonly watches = new Set<ServiceWatch>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly client: Etcd3,
    private readonly opts: RegistryOptions,
  ) {}

  /** Connects and checks that etcd answers; rejects with ETCD_UNAVAILABLE otherwise. */
  static async connect(opts: RegistryOptions): Promise<Registry> {
    if (!/^\/(.*[^/])?$/.test(opts.prefix) || opts.prefix === '/') {
      throw new RegistryError('INVALID_ARGUMENT', `etcd prefix must start with "/" and not end with "/": ${JSON.stringify(opts.prefix)}`);
    }
    if (!Number.isInteger(opts.leaseTtlSec) || opts.leaseTtlSec < 1) {
      throw new RegistryError('INVALID_ARGUMENT', `lease TTL must be an integer >= 1 s, got ${opts.leaseTtlSec}`);
    }
    const client = new Etcd3({
      hosts: opts.endpoints,
      dialTimeout: 3000,
      ...(opts.tls ? { credentials: { rootCertificate: opts.tls.ca, privateKey: opts.tls.key, certChain: opts.tls.cert } } : {}),
      ...(opts.auth ? { auth: { username: opts.auth.username, password: opts.auth.password } } : {}),
    });
    try {
      await client.maintenance.status();
    } catch (err) {
      client.close();
      throw new RegistryError('ETCD_UNAVAILABLE', `etcd not reachable at ${opts.endpoints.join(',')}`, { cause: err });
    }
    return new Registry(client, opts);
  }

  get prefix(): string {
    return this.opts.prefix;
  }

  /** Publishes an instance under a kept-alive lease; rejects if the first write fails. */
  async register(info: InstanceInfo): Promise<Registration> {
    this.assertOpen();
    assertInstanceInfo(info);
    const key = instanceKey(this.opts.prefix, info.service, info.id);
    const log = this.opts.logger.child({ component: 'registry' });
    const reg = new Registration(this.client, key, info, this.opts.leaseTtlSec, log, (r) => this.registrations.delete(r));
    this.registrations.add(reg);
    try {
      await reg.start();
    } catch (err) {
      await reg.abandon();
      throw new RegistryError('ETCD_UNAVAILABLE', `could not register ${key}`, { cause: err });
    }
    log.info({ key, addr: info.addr }, 'registered');
    return reg;
  }

  /** Loads the live instances of a service, then follows changes. */
  async watch(service: string): Promise<ServiceWatch> {
    this.assertOpen();
    if (!isName(service)) throw new RegistryError('INVALID_ARGUMENT', `bad service name ${JSON.stringify(service)}`);
    const log = this.opts.logger.child({ component: 'registry' });
    const grace = this.opts.removalGraceMs ?? DEFAULT_REMOVAL_GRACE_MS;
    const w = new ServiceWatch(this.client, service, serviceKeyPrefix(this.opts.prefix, service), log, (x) => this.watches.delete(x), grace);
    this.watches.add(w);
    try {
      await w.start();
    } catch (err) {
      await w.close();
      throw new RegistryError('ETCD_UNAVAILABLE', `could not load instances of ${service}`, { cause: err });
    }
    return w;
  }

  /**
   * Closes watches and the etcd client. Registrations are abandoned, NOT revoked
   * (their keys expire with the TTL): call Registration.deregister() first for a
   * graceful stop.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.registrations].map((r) => r.abandon()));
      await Promise.all([...this.watches].map((w) => w.close()));
      this.client.close();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new RegistryError('REGISTRY_CLOSED', 'registry is closed');
  }
}
