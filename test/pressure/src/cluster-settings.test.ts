import { needsOtherCluster } from './cluster-settings';

describe('needsOtherCluster', () => {
  const plain = { inspectGateways: false, cheapPasswordHashes: false } as const;
  const unlimited = { msgRatePerSec: 0, groupPushControl: true, ...plain } as const;
  const defaults = { msgRatePerSec: 'default', groupPushControl: true, ...plain } as const;
  const idle = { msgRatePerSec: 0, groupPushControl: true, inspectGateways: true, cheapPasswordHashes: true } as const;

  it('restarts for a message scenario whose flood control differs', () => {
    expect(needsOtherCluster(unlimited, { mode: 'live', msgRateLimit: 'default', groupPushControl: true })).toBe(true);
    expect(needsOtherCluster(defaults, { mode: 'live', msgRateLimit: 'default', groupPushControl: true })).toBe(false);
    expect(needsOtherCluster(defaults, { mode: 'group', msgRateLimit: 0, groupPushControl: true })).toBe(true);
    expect(needsOtherCluster(unlimited, { mode: 'offline', msgRateLimit: 20, groupPushControl: true })).toBe(true);
  });

  it('restarts a group scenario whose push control differs, not a 1:1 one', () => {
    expect(needsOtherCluster(unlimited, { mode: 'group', msgRateLimit: 0, groupPushControl: false })).toBe(true);
    expect(needsOtherCluster(unlimited, { mode: 'live', msgRateLimit: 0, groupPushControl: false })).toBe(false);
  });

  it('keeps the cluster for logins, which send no messages', () => {
    expect(needsOtherCluster(unlimited, { mode: 'logins', msgRateLimit: 'default', groupPushControl: false })).toBe(false);
  });

  it('gives idle connections a cluster with inspectable gateways and cheap hashes, and no other mode that one', () => {
    expect(needsOtherCluster(unlimited, { mode: 'idle-conns', msgRateLimit: 'default', groupPushControl: true })).toBe(true);
    expect(needsOtherCluster(idle, { mode: 'idle-conns', msgRateLimit: 'default', groupPushControl: false })).toBe(false);
    expect(needsOtherCluster(idle, { mode: 'logins', msgRateLimit: 0, groupPushControl: true })).toBe(true);
    expect(needsOtherCluster(idle, { mode: 'live', msgRateLimit: 0, groupPushControl: true })).toBe(true);
  });
});
