// The start-up settings of a spawned cluster that scenarios may differ in, and
// when a scenario needs a cluster of its own (kept apart from spawn-cluster.ts,
// which loads testkit, so runs against a running cluster never load it).
import type { PressureOptions } from './options';

export interface SpawnOptions {
  /** TT_MSG_RATE_PER_SEC for the gateways (0 = unlimited); 'default' = unset, the gateways' own flood control. */
  msgRatePerSec: number | 'default';
  /** TT_GROUP_PUSH_CONTROL for the gateways (default true, the gateways' own default). */
  groupPushControl?: boolean;
  /** Gateways run with the V8 inspector on loopback (testkit ClusterSpec.inspect): GC, memory and heap snapshots for idle-conns. */
  inspectGateways?: boolean;
  /**
   * db-proxy hashes with the cheapest argon2id it accepts (1 MiB, 1 pass): for runs that measure the gateways, not
   * logins (idle-conns), so that thousands of logins are not bound by password hashing on a small machine.
   */
  cheapPasswordHashes?: boolean;
}

/** The spawned cluster's settings a run asks for. */
export function clusterSettings(opts: Pick<PressureOptions, 'mode' | 'msgRateLimit' | 'groupPushControl'>): Required<SpawnOptions> {
  // idle-conns reads the gateways' memory after a forced GC through their inspector; its logins are not what it measures.
  const idle = opts.mode === 'idle-conns';
  return { msgRatePerSec: opts.msgRateLimit, groupPushControl: opts.groupPushControl, inspectGateways: idle, cheapPasswordHashes: idle };
}

/** Whether a run with these options needs a cluster started with other settings than `current`. */
export function needsOtherCluster(current: Required<SpawnOptions>, opts: Pick<PressureOptions, 'mode' | 'msgRateLimit' | 'groupPushControl'>): boolean {
  // idle-conns needs inspectable gateways and cheap hashes; every other mode must not measure logins with cheap hashes.
  if ((opts.mode === 'idle-conns') !== current.cheapPasswordHashes) return true;
  // logins and idle-conns send no messages: neither message setting changes what they measure.
  if (opts.mode === 'logins' || opts.mode === 'idle-conns') return false;
  if (opts.msgRateLimit !== current.msgRatePerSec) return true;
  return opts.mode === 'group' && opts.groupPushControl !== current.groupPushControl;
}
