import { needsOtherCluster } from './cluster-settings';

describe('needsOtherCluster', () => {
  const unlimited = { msgRatePerSec: 0, groupPushControl: true } as const;
  const defaults = { msgRatePerSec: 'default', groupPushControl: true } as const;

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

  it('keeps the cluster for logins and idle connections, which send no messages', () => {
    expect(needsOtherCluster(unlimited, { mode: 'logins', msgRateLimit: 'default', groupPushControl: false })).toBe(false);
    expect(needsOtherCluster(unlimited, { mode: 'idle-conns', msgRateLimit: 'default', groupPushControl: true })).toBe(false);
  });
});
