import { Histogram, metricsRegistry, summedGauge } from '@tiertalk/metrics';

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

summedGauge('tt_store_commit_queue_messages', 'Messages waiting for the next group commit (a gateway stream pauses at TT_COMMIT_QUEUE_MAX)', queues, (q) => q.queued);

export function trackCommitQueue(q: CommitQueue): void {
  queues.add(q);
}

// Where a commit's time goes (docs/BENCHMARKS.md "Where a message commit's time goes").
/** Seconds of one commit split by `label` (its phases, its statements): finer buckets than the whole commit's. */
function commitSplitHistogram<L extends string>(name: string, help: string, label: L): Histogram<L> {
  return new Histogram({ name, help, labelNames: [label], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5], registers: [metricsRegistry] });
}

const phaseSeconds = commitSplitHistogram(
  'tt_store_commit_phase_seconds',
  'Time one group commit spent in each phase: admission, relations, audio_reserve, id_allocation, remote_shards, transaction, counters_apply, conversation_index',
  'phase',
);

const statementSeconds = commitSplitHistogram(
  'tt_store_commit_statement_seconds',
  'Time one group commit spent in each kind of statement of its master transaction (begin, commit, "insert IMMessage", "upsert IMRecentSession", ...), summed over the commit',
  'statement',
);

/** The phases a commit is timed in; the two after the transaction run side by side. */
export type CommitPhase = 'admission' | 'relations' | 'audio_reserve' | 'id_allocation' | 'remote_shards' | 'transaction' | 'counters_apply' | 'conversation_index';

/** The timings of one commit, observed into the phase and statement histograms when it ends. */
export class CommitTimings {
  readonly phases = new Map<CommitPhase, number>();
  readonly statements = new Map<string, number>();

  /** Runs `work`, adding its time (also when it fails) to `phase`. */
  async time<T>(phase: CommitPhase, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.phases.set(phase, (this.phases.get(phase) ?? 0) + (performance.now() - started) / 1000);
    }
  }

  /** A SqlBatch statement observer. */
  readonly statement = (label: string, seconds: number): void => {
    this.statements.set(label, (this.statements.get(label) ?? 0) + seconds);
  };

  observe(): void {
    for (const [phase, s] of this.phases) phaseSeconds.observe({ phase }, s);
    for (const [statement, s] of this.statements) statementSeconds.observe({ statement }, s);
  }

  /** Milliseconds per phase and statement, for the debug log. */
  toLog(): { phasesMs: Record<string, number>; statementsMs: Record<string, number> } {
    const ms = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].map(([k, s]) => [k, Math.round(s * 10_000) / 10]));
    return { phasesMs: ms(this.phases), statementsMs: ms(this.statements) };
  }
}
