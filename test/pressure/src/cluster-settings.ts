// The start-up settings of a spawned cluster that scenarios may differ in, and
// when a scenario needs a cluster of its own (kept apart from spawn-cluster.ts,
// which loads testkit, so runs against a running cluster never load it).
import type { PressureOptions } from './options';

export interface SpawnOptions {
  /** TT_MSG_RATE_PER_SEC for the gateways (0 = unlimited); 'default' = unset, the gateways' own flood control. */
  msgRatePerSec: number | 'default';
  /** TT_GROUP_PUSH_CONTROL for the gateways (default true, the gateways' own default). */
  groupPushControl?: boolean;
}

/** The spawned cluster's settings a run asks for. */
export function clusterSettings(opts: Pick<PressureOptions, 'msgRateLimit' | 'groupPushControl'>): Required<SpawnOptions> {
  return { msgRatePerSec: opts.msgRateLimit, groupPushControl: opts.groupPushControl };
}

/** Whether a run with these options needs a cluster started with other settings than `current`. */
export function needsOtherCluster(current: Required<SpawnOptions>, opts: Pick<PressureOptions, 'mode' | 'msgRateLimit' | 'groupPushControl'>): boolean {
  // logins and idle-conns send no messages: neither setting changes what they measure.
  if (opts.mode === 'logins' || opts.mode === 'idle-conns') return false;
  if (opts.msgRateLimit !== current.msgRatePerSec) return true;
  return opts.mode === 'group' && opts.groupPushControl !== current.groupPushControl;
}
