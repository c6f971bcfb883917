// One --mode group run for main.ts: users, the run, then what reportRun needs:
// the terminal summary, the scenario's report section and its row in the group table.
import { formatGroupSummary, groupVerdict, renderGroupSection, upsertGroupRow } from './group-report';
import { runGroup } from './group-run';
import { userNames, type PressureOptions } from './options';
import type { FinishedRun } from './report-run';
import { cpuLine } from './proc-cpu';
import type { Endpoints } from './run';
import type { SpawnedCluster } from './spawn-cluster';
import { ensureUsers } from './users';

export interface GroupOneInput {
  opts: PressureOptions;
  cluster: SpawnedCluster | undefined;
  out(line: string): void;
  warn(line: string): void;
  stop: AbortSignal;
  hurry: AbortSignal;
}

const GROUP_TABLE_INTRO = [
  "The seed's group load test (one group, members online or not, messages posted per second), one row per scenario; details in each scenario's section below. " +
    '*posted msg/s*: group messages ACKed per second of sending; *deliveries/s*: distinct (member, message) live copies received per second, from the start of sending to the last delivery; ' +
    '*p50 / p99*: send → delivery; *lost from storage*: ACKed but missing from the group history (must be 0); *shed*: live copies expected ' +
    '(ACKed × (online − 1)) but not received by the end of the drain — dropped or still queued by the traffic control, still in history and unread; ' +
    '*duplicates*: a member got the same message id twice (must be 0); *failed (no ACK)*: no ACK or msg_id 0, with the gateways\' refusal reasons for a spawned cluster. CPU is % of one core averaged over sending + drain (peak second in brackets), ' +
    'summed over the tier\'s processes; RSS is the peak, summed. The pressure tool (all clients) runs on the same machine.',
];

export async function runGroupOne(input: GroupOneInput): Promise<FinishedRun> {
  const { opts, cluster } = input;
  const mysqlUrl = cluster?.mysqlUrl ?? opts.createUsers;
  if (mysqlUrl === undefined) throw new Error('--mode group reads member ids from IMUser: use --spawn-cluster or --create-users URL');
  const names = userNames(opts.usersPrefix, opts.members);
  const users = await ensureUsers(mysqlUrl, names, opts.password);
  input.out(`users: ${users.created} created, ${users.existing} present\n`);
  if (!cluster && !opts.groupPushControl) input.warn('--group-push-control off applies to a spawned cluster only; the running gateways keep their own setting');
  const endpoints: Endpoints = cluster
    ? { kind: 'gateways', gateways: cluster.gateways.map((g) => (opts.transport === 'ws' ? g.ws : g.tcp)) }
    : opts.gateways
      ? { kind: 'gateways', gateways: opts.gateways }
      : { kind: 'login', loginUrl: opts.loginUrl };
  const result = await runGroup({
    opts,
    endpoints,
    out: input.out,
    warn: input.warn,
    stop: input.stop,
    hurry: input.hurry,
    mysqlUrl,
    processes: cluster ? cluster.processes() : [],
  });
  const verdict = groupVerdict(result.summary);
  const s = result.summary;
  return {
    result,
    verdict,
    summary: formatGroupSummary(s, result.tiers, verdict, result.gatewayRefusals) + (result.cpu ? `${cpuLine(result.cpu)}\n` : ''),
    render: (meta) => renderGroupSection({ ...meta, toolCpuPercent: result.toolCpuPercent, summary: s, tiers: result.tiers, verdict, cpu: result.cpu, gatewayRefusals: result.gatewayRefusals }),
    amendReport: (text) =>
      upsertGroupRow(text, { scenario: opts.label, summary: s, pushControl: cluster ? cluster.config.groupPushControl : undefined, tiers: result.tiers }, GROUP_TABLE_INTRO),
    point: {
      kind: 'group',
      offered: opts.rate,
      acked: s.sendingSec > 0 ? s.acked / s.sendingSec : 0,
      delivered: s.deliverySec > 0 ? s.delivered / s.deliverySec : 0,
      expected: s.sendingSec > 0 ? s.expectedDeliveries / s.sendingSec : 0,
      ackP99Ms: s.ackLatency.p99,
      deliveryP99Ms: s.deliveryLatency.p99,
      lost: s.lostFromStorage,
      duplicated: s.duplicates,
    },
  };
}
