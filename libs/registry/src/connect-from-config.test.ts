// connectRegistry against the real etcd (TT_TEST_ETCD), and advertisedHost.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '@tiertalk/config';
import { createLogger } from '@tiertalk/log';
import { advertisedHost, connectRegistry } from './index';

const ENDPOINT = process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379';
const logger = createLogger({ service: 'registry-test', instanceId: 't', level: 'silent' });

describe('connectRegistry', () => {
  it('connects with the common etcd settings: prefix and lease TTL as configured', async () => {
    const prefix = `/tt-test-connect-${randomBytes(4).toString('hex')}`;
    const registry = await connectRegistry({ TT_ETCD_ENDPOINTS: [ENDPOINT], TT_ETCD_PREFIX: prefix, TT_LEASE_TTL_SEC: 3 }, 'route', logger);
    try {
      const watch = await registry.watch('route');
      const registration = await registry.register({ id: 'r-1', service: 'route', addr: '127.0.0.1:1', load: 0, meta: {} });
      await new Promise<void>((resolve) => (watch.get('r-1') ? resolve() : watch.once('added', () => resolve())));
      expect(watch.get('r-1')?.addr).toBe('127.0.0.1:1');
      await registration.deregister();
      await watch.close();
    } finally {
      await registry.close();
    }
  });

  it('rejects with ConfigError for etcd TLS settings on plain http:// endpoints', async () => {
    await expect(
      connectRegistry({ TT_ETCD_ENDPOINTS: [ENDPOINT], TT_ETCD_PREFIX: '/x', TT_LEASE_TTL_SEC: 3, TT_ETCD_CA: '/nonexistent/ca.pem' }, 'route', logger),
    ).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('advertisedHost', () => {
  it('publishes the host name for a wildcard bind address, else the address itself', () => {
    expect(advertisedHost('0.0.0.0')).toBe(hostname());
    expect(advertisedHost('::')).toBe(hostname());
    expect(advertisedHost('10.1.2.3')).toBe('10.1.2.3');
  });
});
