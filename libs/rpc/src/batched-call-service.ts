import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';

/** How the server side of one bidi method takes items in batches and answers each. */
export interface ServeBatchProtocol<Batch, ReplyBatch, Item, Reply> {
  itemsOf(batch: Batch): readonly Item[];
  /** Answers one item; `isCancelled` says whether its stream is gone (skip costly work). */
  run(item: Item, isCancelled: () => boolean): Promise<Reply>;
  /** The reply for an item whose `run` threw. */
  failed(item: Item, err: unknown): Reply;
  /** A reply batch; `stop` asks the client to send nothing more (shutdown). */
  batchOf(replies: Reply[], stop: boolean): ReplyBatch;
}

/**
 * When a stream's reading pauses and resumes (gRPC flow control reaches the
 * client). By default each stream is bounded by its own items in flight; a
 * service whose items wait in one shared queue bounds all streams by it.
 */
export interface Backpressure {
  /** Checked after each batch read: true pauses the stream. */
  full(streamInFlight: number): boolean;
  /** Checked when work finishes: true resumes a paused stream. */
  hasRoom(streamInFlight: number): boolean;
  /** Room that frees outside this stream's own items (a shared queue moving on) is reported here. */
  onProgress?(listener: () => void): void;
}

export type BatchedCallServiceOptions = {
  logger: Logger;
  /** How stream lifecycle lines read; default `call stream …`, all at debug. */
  streamLog?: StreamLog;
} & (
  | {
      /** Items one stream may have running; past this its reading pauses, at half it resumes. */
      maxInFlight: number;
    }
  | { backpressure: Backpressure }
);

interface StreamLog {
  name: string;
  lifecycle: 'debug' | 'info';
  error: 'debug' | 'warn';
}

/** The default rule: a stream's own items in flight. */
function perStreamLimit(maxInFlight: number): Backpressure {
  return { full: (n) => n > maxInFlight, hasRoom: (n) => n <= maxInFlight / 2 };
}

interface ServedStream<Batch, ReplyBatch, Reply> {
  readonly call: grpc.ServerDuplexStream<Batch, ReplyBatch>;
  readonly peer: string;
  inFlight: number;
  replies: Reply[];
  flushScheduled: boolean;
  clientEnded: boolean;
  stopping: boolean;
  ended: boolean;
  paused: boolean;
}

/**
 * The server side of BatchedCalls: one long-lived bidi stream per client
 * instance, each item of a batch run at once (concurrently), replies written
 * in batches per stream per event-loop turn. `drain` (SIGTERM) tells each
 * client to stop (the reply batch's `stop`), answers what arrived and ends
 * the streams.
 */
export class BatchedCallService<Batch, ReplyBatch, Item, Reply> {
  private readonly streams = new Set<ServedStream<Batch, ReplyBatch, Reply>>();
  private readonly log: Logger;
  private readonly backpressure: Backpressure;
  private readonly streamLog: StreamLog;

  constructor(
    private readonly protocol: ServeBatchProtocol<Batch, ReplyBatch, Item, Reply>,
    opts: BatchedCallServiceOptions,
  ) {
    this.log = opts.logger;
    this.backpressure = 'backpressure' in opts ? opts.backpressure : perStreamLimit(opts.maxInFlight);
    this.streamLog = opts.streamLog ?? { name: 'call', lifecycle: 'debug', error: 'debug' };
    this.backpressure.onProgress?.(() => {
      for (const s of this.streams) this.resumeIfRoom(s);
    });
  }

  readonly handle = (call: grpc.ServerDuplexStream<Batch, ReplyBatch>): void => {
    const s: ServedStream<Batch, ReplyBatch, Reply> = {
      call,
      peer: call.getPeer(),
      inFlight: 0,
      replies: [],
      flushScheduled: false,
      clientEnded: false,
      stopping: false,
      ended: false,
      paused: false,
    };
    this.streams.add(s);
    this.log[this.streamLog.lifecycle]({ peer: s.peer }, `${this.streamLog.name} stream opened`);
    const isCancelled = (): boolean => s.ended;
    call.on('data', (batch: Batch) => {
      for (const item of this.protocol.itemsOf(batch)) {
        s.inFlight += 1;
        this.protocol
          .run(item, isCancelled)
          .catch((err: unknown) => this.protocol.failed(item, err))
          .then((reply) => {
            s.inFlight -= 1;
            this.reply(s, reply);
            this.resumeIfRoom(s);
          });
      }
      if (!s.paused && this.backpressure.full(s.inFlight)) {
        s.paused = true;
        call.pause();
      }
    });
    call.on('end', () => {
      s.clientEnded = true;
      this.maybeEnd(s);
    });
    call.on('error', (err) => {
      // A client that went away; what it sent is still run to the end.
      this.log[this.streamLog.error]({ peer: s.peer, err: err.message }, `${this.streamLog.name} stream error`);
      this.close(s);
    });
    call.on('cancelled', () => this.close(s));
  };

  /** Streams open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Shutdown: ask every client to stop, answer what arrived, end the streams (or give up after timeoutMs). */
  async drain(timeoutMs: number): Promise<void> {
    const ended: Array<Promise<void>> = [];
    for (const s of this.streams) {
      s.stopping = true;
      if (!s.ended) s.call.write(this.protocol.batchOf([], true));
      this.maybeEnd(s);
    }
    for (const s of this.streams) ended.push(new Promise((resolve) => s.call.once('finish', () => resolve())));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(ended), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private reply(s: ServedStream<Batch, ReplyBatch, Reply>, reply: Reply): void {
    if (s.ended) return;
    s.replies.push(reply);
    if (!s.flushScheduled) {
      s.flushScheduled = true;
      setImmediate(() => this.flush(s));
    }
  }

  private flush(s: ServedStream<Batch, ReplyBatch, Reply>): void {
    s.flushScheduled = false;
    if (s.ended || s.replies.length === 0) return;
    const replies = s.replies;
    s.replies = [];
    s.call.write(this.protocol.batchOf(replies, false));
    this.maybeEnd(s);
  }

  private maybeEnd(s: ServedStream<Batch, ReplyBatch, Reply>): void {
    if (s.ended || s.inFlight > 0 || s.replies.length > 0) return;
    if (s.clientEnded || s.stopping) {
      s.ended = true;
      s.call.end();
      this.streams.delete(s);
      this.log[this.streamLog.lifecycle]({ peer: s.peer }, `${this.streamLog.name} stream closed`);
    }
  }

  private resumeIfRoom(s: ServedStream<Batch, ReplyBatch, Reply>): void {
    if (s.paused && !s.ended && this.backpressure.hasRoom(s.inFlight)) {
      s.paused = false;
      s.call.resume();
    }
  }

  private close(s: ServedStream<Batch, ReplyBatch, Reply>): void {
    s.ended = true;
    this.streams.delete(s);
  }
}
