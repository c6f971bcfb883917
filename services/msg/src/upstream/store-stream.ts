import type * as grpc from '@grpc/grpc-js';
import { DbProxyService, tiertalk } from '@tiertalk/proto';
import type { MsgStoreBatch, MsgStoredBatch } from '@tiertalk/proto';
import { openBidi } from '@tiertalk/rpc';

/** What a StoreStream needs to know of an item it carries. */
export interface StreamItem {
  readonly ref: number;
  readonly msg: tiertalk.MsgStoreItem.$Properties['msg'];
  readonly idemKey: string;
  /** When it was last written (to any stream), epoch ms. */
  sentAt: number;
}

export interface StoreStreamEvents<T extends StreamItem> {
  /** A batch of replies: each with the pending item it answers (undefined when none is pending under its ref). */
  replies(stream: StoreStream<T>, replies: Array<{ reply: tiertalk.MsgStoredItem.$Properties; item: T | undefined }>, stop: boolean): void;
  /** The stream ended or failed; `unanswered` were written here and never answered. */
  finished(stream: StoreStream<T>, err: unknown, unanswered: T[]): void;
}

/**
 * One DbProxy.StoreMessages bidi stream to one db-proxy instance and the items
 * written on it that it has not answered yet. It reports replies and its end;
 * routing, retries and deadlines are DbProxyLink's.
 */
export class StoreStream<T extends StreamItem> {
  private readonly call: grpc.ClientDuplexStream<MsgStoreBatch, MsgStoredBatch>;
  private readonly pending = new Map<number, T>();
  /** db-proxy sent `stop` (IMStopReceivePacket): no new items here, replies still read. */
  draining = false;
  private done = false;
  /** Epoch ms of the last reply; 0 until the first. */
  lastReplyAt = 0;

  constructor(
    readonly instanceId: string,
    client: grpc.Client,
    private readonly on: StoreStreamEvents<T>,
  ) {
    this.call = openBidi(client, DbProxyService.StoreMessages);
    this.call.on('data', (batch: MsgStoredBatch) => this.onData(batch));
    this.call.on('error', (err: Error) => this.finish(err));
    this.call.on('end', () => this.finish(undefined));
  }

  get finished(): boolean {
    return this.done;
  }

  get pendingCount(): number {
    return this.pending.size;
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
    const batch = tiertalk.MsgStoreBatch.create({
      items: items.map((i) => tiertalk.MsgStoreItem.create({ ref: i.ref, msg: i.msg, idemKey: i.idemKey })),
    });
    try {
      this.call.write(batch);
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

  /** Ends the stream (gateway stopping); the unanswered items are reported as usual. */
  end(): void {
    if (this.done) return;
    this.call.end();
    this.finish(undefined);
  }

  private onData(batch: MsgStoredBatch): void {
    if (this.done) return;
    this.lastReplyAt = Date.now();
    const replies = batch.items.map((reply) => {
      const item = this.pending.get(reply.ref);
      if (item) this.pending.delete(reply.ref);
      return { reply, item };
    });
    const stop = batch.stop !== null && batch.stop !== undefined && !this.draining;
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
