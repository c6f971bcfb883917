import { Gauge, Histogram, metricsRegistry } from '@tiertalk/metrics';

const batchMessages = new Histogram({
  name: 'tt_store_commit_batch_messages',
  help: 'Messages per group-commit transaction (those that passed the checks; TT_COMMIT_BATCH_MAX bounds it)',
  buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
  registers: [metricsRegistry],
});

const commitSeconds = new Histogram({
  name: 'tt_store_commit_duration_seconds',
  help: 'Time to store one group-commit batch (ids, transaction, counters), by outcome: ok, failed',
  labelNames: ['outcome'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5],
  registers: [metricsRegistry],
});
commitSeconds.zero({ outcome: 'ok' });
commitSeconds.zero({ outcome: 'failed' });

/** One commit of `messages` messages that took `seconds`. */
export function observeCommit(messages: number, seconds: number, outcome: 'ok' | 'failed'): void {
  batchMessages.observe(messages);
  commitSeconds.observe({ outcome }, seconds);
}

/** What the queue gauge reads from a committer. */
export interface CommitQueue {
  readonly queued: number;
}

// The committers of this process (one in db-proxy; several in store tests).
const queues = new Set<CommitQueue>();

new Gauge({
  name: 'tt_store_commit_queue_messages',
  help: 'Messages waiting for the next group commit (a gateway stream pauses at TT_COMMIT_QUEUE_MAX)',
  registers: [metricsRegistry],
  collect() {
    let n = 0;
    for (const q of queues) n += q.queued;
    this.set(n);
  },
});

export function trackCommitQueue(q: CommitQueue): void {
  queues.add(q);
}
