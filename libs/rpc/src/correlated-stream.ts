import type * as grpc from '@grpc/grpc-js';
import { openBidi, type ClientMethod } from './call';
import { FlowControlledWriter } from './flow-controlled-writer';

/** What a CorrelatedStream needs to know of an item it carries. */
export interface CorrelatedItem {
  /** Matches the reply; unique among the items in flight on one stream. */
  readonly ref: number;
  /** When it was last written (to any stream), epoch ms. */
  sentAt: number;
}

/** How one bidi method carries items in batches and answers them by ref. */
export interface BatchProtocol<T, Batch, ReplyBatch, Reply> {
  readonly method: ClientMethod<Batch, ReplyBatch>;
  batchOf(items: readonly T[]): Batch;
  repliesOf(batch: ReplyBatch): readonly Reply[];
  refOf(reply: Reply): number;
  /** The server asked to stop (IMStopReceivePacket): no new items, replies still come. */
  isStop(batch: ReplyBatch): boolean;
}

export interface CorrelatedStreamEvents<T extends CorrelatedItem, Batch, ReplyBatch, Reply> {
  /** A batch of replies: each with the pending item it answers (undefined when none is pending under its ref). */
  replies(stream: CorrelatedStream<T, Batch, ReplyBatch, Reply>, replies: Array<{ reply: Reply; item: T | undefined }>, stop: boolean): void;
  /** The stream ended or failed; `unanswered` were written here and never answered. */
  finished(stream: CorrelatedStream<T, Batch, ReplyBatch, Reply>, err: unknown, unanswered: T[]): void;
}

/**
 * One long-lived bidi stream to one instance carrying items in batches, and
 * the items written on it that it has not answered yet. It reports replies
 * and its end; routing, retries and deadlines are its owner's (the message
 * store's DbProxyLink, BatchedCalls for logins).
 */
export class CorrelatedStream<T extends CorrelatedItem, Batch, ReplyBatch, Reply> {
  private readonly call: grpc.ClientDuplexStream<Batch, ReplyBatch>;
  /** Batches wait here while the peer does not read (back-pressure), in order. */
  private readonly writer: FlowControlledWriter<Batch>;
  private readonly pending = new Map<number, T>();
  /** The server sent `stop`: no new items here, replies still read. */
  draining = false;
  private done = false;
  /** Epoch ms of the last reply; 0 until the first. */
  lastReplyAt = 0;

  constructor(
    readonly instanceId: string,
    client: grpc.Client,
    private readonly protocol: BatchProtocol<T, Batch, ReplyBatch, Reply>,
    private readonly on: CorrelatedStreamEvents<T, Batch, ReplyBatch, Reply>,
  ) {
    this.call = openBidi(client, protocol.method);
    this.writer = new FlowControlledWriter(this.call, (err) => this.finish(err));
    this.call.on('data', (batch: ReplyBatch) => this.onData(batch));
    this.call.on('error', (err: Error) => this.finish(err));
    this.call.on('end', () => this.finish(undefined));
  }

  get finished(): boolean {
    return this.done;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Batches written here and held until the stream drains. */
  get waitingBatches(): number {
    return this.writer.waiting;
  }

  /** Send time of the oldest unanswered item, or undefined. */
  oldestSentAt(): number | undefined {
    let oldest: number | undefined;
    for (const item of this.pending.values()) if (oldest === undefined || item.sentAt < oldest) oldest = item.sentAt;
    return oldest;
  }

  write(items: readonly T[]): void {
    const now = Date.now();
    for (const item of items) {
      item.sentAt = now;
      this.pending.set(item.ref, item);
    }
    try {
      this.writer.write(this.protocol.batchOf(items));
    } catch (err) {
      this.finish(err);
    }
  }

  /** Stops waiting for an item here (answered elsewhere, or its deadline passed). */
  forget(item: T): void {
    if (this.pending.get(item.ref) === item) this.pending.delete(item.ref);
    if (this.draining && this.pending.size === 0 && !this.done) this.call.end();
  }

  /** Gives up on the stream: cancels it and reports its unanswered items. */
  abandon(reason: Error): void {
    if (this.done) return;
    this.call.cancel();
    this.finish(reason);
  }

  /** Ends the stream (caller stopping); the unanswered items are reported as usual. */
  end(): void {
    if (this.done) return;
    this.call.end();
    this.finish(undefined);
  }

  private onData(batch: ReplyBatch): void {
    if (this.done) return;
    this.lastReplyAt = Date.now();
    const replies = this.protocol.repliesOf(batch).map((reply) => {
      const ref = this.protocol.refOf(reply);
      const item = this.pending.get(ref);
      if (item) this.pending.delete(ref);
      return { reply, item };
    });
    const stop = this.protocol.isStop(batch) && !this.draining;
    if (stop) this.draining = true;
    this.on.replies(this, replies, stop);
    if (this.draining && this.pending.size === 0 && !this.done) this.call.end();
  }

  private finish(err: unknown): void {
    if (this.done) return;
    this.done = true;
    const unanswered = [...this.pending.values()];
    this.pending.clear();
    this.on.finished(this, err, unanswered);
  }
}
