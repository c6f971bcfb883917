import { Counter, Gauge, metricsRegistry } from '@tiertalk/metrics';

/** docs/METRICS.md, file server. */
export const fileMetrics = {
  tasksCreated: new Counter({
    name: 'tt_file_tasks_created_total',
    help: 'Transfer tasks created for gateways (mode: online, offline) or loaded from storage for a download (mode: download)',
    labelNames: ['mode'] as const,
    registers: [metricsRegistry],
  }),
  tasksEnded: new Counter({
    name: 'tt_file_tasks_ended_total',
    help: 'Transfer tasks ended, by how (done, cancelled, abandoned: idle past TT_FILE_TASK_TIMEOUT_MS, failed)',
    labelNames: ['mode', 'outcome'] as const,
    registers: [metricsRegistry],
  }),
  transferRefused: new Counter({
    name: 'tt_file_transfer_refused_total',
    help: 'Task requests refused (reason: too_large, bad_request, too_many_tasks)',
    labelNames: ['reason'] as const,
    registers: [metricsRegistry],
  }),
  bytes: new Counter({
    name: 'tt_file_bytes_total',
    help: 'File bytes moved (direction: relayed between online clients, uploaded to storage, downloaded from storage)',
    labelNames: ['direction'] as const,
    registers: [metricsRegistry],
  }),
};

/** Tasks in memory now, read at scrape time. */
export function exportTaskCount(count: () => number): void {
  new Gauge({
    name: 'tt_file_tasks',
    help: 'Transfer tasks in memory (waiting for clients or moving bytes)',
    registers: [metricsRegistry],
    collect() {
      this.set(count());
    },
  });
}
