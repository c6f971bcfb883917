// Why gateways answered sends with msg_id 0: the client only sees NOT_STORED,
// the gateways count the reason (tt_msg_messages_refused_total: flood_control,
// store_failed, store_rejected). Read from each gateway's /metrics before and
// after a run; the difference is the run's refusals.
import { fetchExposition } from '@tiertalk/testkit';

const REFUSED = 'tt_msg_messages_refused_total';

export interface MetricsProcess {
  service: string;
  metricsPort?: number;
}

/** Refusals by reason, summed over the gateways (service `msg`) that serve /metrics. */
export async function readGatewayRefusals(processes: readonly MetricsProcess[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const p of processes) {
    if (p.service !== 'msg' || p.metricsPort === undefined) continue;
    const exposition = await fetchExposition(p.metricsPort);
    for (const s of exposition.samples) {
      if (s.name !== REFUSED) continue;
      const reason = s.labels.reason ?? 'unknown';
      out.set(reason, (out.get(reason) ?? 0) + s.value);
    }
  }
  return out;
}

/** after − before per reason, zero rows left out. */
export function refusalsBetween(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [reason, n] of after) {
    const d = n - (before.get(reason) ?? 0);
    if (d > 0) out.set(reason, d);
  }
  return out;
}

/** "flood_control 54, store_failed 2" (largest first), or "none". */
export function formatRefusals(refusals: ReadonlyMap<string, number>): string {
  const rows = [...refusals].sort((a, b) => b[1] - a[1]);
  return rows.length === 0 ? 'none' : rows.map(([reason, n]) => `${reason} ${n}`).join(', ');
}
