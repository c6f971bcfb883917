import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { GatewayService, type PushAck, type PushBatch } from '@tiertalk/proto';
import { ReconnectBackoff, openBidi } from '@tiertalk/rpc';
import type { PushWaiter } from './handlers/types';
import { countDroppedBatches } from './route-metrics';

const CLOSE_WAIT_MS = 1_000;
const DROP_LOG_EVERY = 1_000;

interface QueuedBatch {
  readonly batch: PushBatch;
  readonly waiter: PushWaiter | undefined;
}

/**
 * The Gateway.Push stream to one gateway (docs/RELIABILITY.md, live
 * delivery). Every PushBatch is kept, oldest first, until the gateway
 * acknowledges it (PushAck: n more batches applied, covering the n oldest);
 * when the stream fails it is reopened with backoff and everything
 * unacknowledged is written again in order. The gateway drops a message it
 * already wrote to a connection, so a resend is never shown twice.
 */
export class GatewayLink {
  private client: grpc.Client | undefined;
  private stream: grpc.ClientDuplexStream<PushBatch, PushAck> | undefined;
  private streamDone: Promise<void> | undefined;
  /** Unacknowledged batches, oldest first; the first `written` went out on the current stream. */
  private readonly queue = new BatchQueue();
  private written = 0;
  /** Acks still to come on this stream for written batches dropped by the bound: absorbed, not applied. */
  private ackDebt = 0;
  private waitingDrain = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new ReconnectBackoff();
  private closed = false;
  dropped = 0;

  constructor(
    readonly gatewayId: string,
    readonly addr: string,
    private readonly maxQueued: number,
    private readonly log: Logger,
    /** Builds the gRPC client of the gateway at addr (mTLS: it must prove it is a gateway). */
    private readonly connect: (addr: string) => grpc.Client,
  ) {}

  /** Batches waiting for the gateway's acknowledgement (written or not). */
  get unacknowledged(): number {
    return this.queue.length;
  }

  enqueue(batch: PushBatch, waiter: PushWaiter | undefined): void {
    if (this.closed) {
      waiter?.batchDone();
      return;
    }
    this.queue.push({ batch, waiter });
    if (this.queue.length > this.maxQueued) this.dropOldest();
    this.flush();
  }

  /** The gateway is (again) in etcd: try a failed stream now instead of after the backoff delay. */
  retryNow(): void {
    if (this.closed || !this.reopenTimer) return;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    this.backoff.reset();
    this.flush();
  }

  /**
   * The gateway process is gone (left etcd, or replaced by a new epoch): its
   * connections are closed, so what it did not acknowledge is dropped and
   * counted done; its clients get those messages by offline pull.
   */
  abandonQueued(): void {
    const n = this.queue.length;
    const entries = this.queue.drain();
    // Acks still in flight on this stream cover batches no longer here.
    this.ackDebt += this.written;
    this.written = 0;
    for (const e of entries) e.waiter?.batchDone();
    countDroppedBatches('gateway_gone', n);
    if (n > 0) this.log.info({ dropped: n }, 'gateway gone: unacknowledged pushes dropped (its clients pull offline)');
  }

  /**
   * Ends the stream. `abandon` (gateway gone) settles what is unacknowledged;
   * otherwise (route shutting down) it stays unsettled, so the Deliver
   * streams waiting for it are not reported and their gateways resend.
   */
  close(abandon: boolean): Promise<void> {
    if (abandon) this.abandonQueued();
    if (this.closed) return this.streamDone ?? Promise.resolve();
    this.closed = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const stream = this.stream;
    const done = this.streamDone ?? Promise.resolve();
    const client = this.client;
    if (stream) stream.end();
    // Give the gateway a moment to take and acknowledge what was written, then drop the channel.
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
    });
    return Promise.race([done, waited]).then(() => {
      clearTimeout(timer);
      client?.close();
    });
  }

  /** Past the bound (a gateway in etcd that does not read): the oldest batch is given up. */
  private dropOldest(): void {
    const e = this.queue.shift();
    if (!e) return;
    if (this.written > 0) {
      this.written -= 1;
      this.ackDebt += 1;
    }
    this.dropped += 1;
    countDroppedBatches('queue_full', 1);
    e.waiter?.batchDone();
    if (this.dropped % DROP_LOG_EVERY === 1) {
      this.log.warn({ dropped: this.dropped, queued: this.queue.length }, 'gateway push queue full; dropping oldest batches');
    }
  }

  private flush(): void {
    if (this.closed || this.waitingDrain || this.reopenTimer) return;
    while (this.written < this.queue.length) {
      const stream = this.ensureStream();
      if (!stream) return;
      const entry = this.queue.at(this.written);
      if (!entry) return;
      this.written += 1;
      let accepted: boolean;
      try {
        accepted = stream.write(entry.batch);
      } catch (err) {
        // Write after the call ended: the stream failed; everything unacknowledged goes again.
        this.onStreamDone(stream, err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (!accepted) {
        this.waitingDrain = true;
        stream.once('drain', () => {
          if (this.stream !== stream) return;
          this.waitingDrain = false;
          this.flush();
        });
        return;
      }
    }
  }

  private onAck(stream: grpc.ClientDuplexStream<PushBatch, PushAck>, batches: number): void {
    if (this.stream !== stream) return;
    let n = batches;
    const absorbed = Math.min(n, this.ackDebt);
    this.ackDebt -= absorbed;
    n = Math.min(n - absorbed, this.written);
    for (let i = 0; i < n; i++) {
      const e = this.queue.shift();
      this.written -= 1;
      e?.waiter?.batchDone();
    }
    // The gateway applies what we write: the link is healthy.
    this.backoff.reset();
  }

  private ensureStream(): grpc.ClientDuplexStream<PushBatch, PushAck> | undefined {
    if (this.stream) return this.stream;
    try {
      this.client ??= this.connect(this.addr);
      const stream = openBidi(this.client, GatewayService.Push);
      this.streamDone = new Promise((resolve) => {
        stream.on('status', () => resolve());
      });
      stream.on('data', (ack: PushAck) => this.onAck(stream, ack.batches));
      stream.on('error', (err: Error) => this.onStreamDone(stream, err));
      // The gateway ended its side (shutting down): reopen, it may still be in etcd.
      stream.on('end', () => this.onStreamDone(stream, undefined));
      this.stream = stream;
      return stream;
    } catch (err) {
      this.log.warn({ err }, 'cannot open push stream');
      this.scheduleReopen();
      return undefined;
    }
  }

  private onStreamDone(stream: grpc.ClientDuplexStream<PushBatch, PushAck>, err: Error | undefined): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.waitingDrain = false;
    this.written = 0;
    this.ackDebt = 0;
    if (err === undefined) stream.end();
    if (this.closed) return;
    // A fresh channel next time: grpc's own reconnect backoff (up to seconds) must not delay ours.
    this.client?.close();
    this.client = undefined;
    if (this.queue.length === 0) return; // the next push opens a new stream
    this.log.warn({ err, unacknowledged: this.queue.length }, 'push stream failed; resending what the gateway did not acknowledge');
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.closed || this.reopenTimer) return;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.flush();
    }, this.backoff.next());
    this.reopenTimer.unref();
  }
}

/** FIFO with O(1) shift and indexed reads, so acknowledging or dropping the oldest stays cheap. */
class BatchQueue {
  private items: (QueuedBatch | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(b: QueuedBatch): void {
    this.items.push(b);
  }

  at(i: number): QueuedBatch | undefined {
    return this.items[this.head + i];
  }

  shift(): QueuedBatch | undefined {
    if (this.head >= this.items.length) return undefined;
    const b = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return b;
  }

  /** Removes and returns every entry, oldest first. */
  drain(): QueuedBatch[] {
    const out = this.items.slice(this.head) as QueuedBatch[];
    this.items = [];
    this.head = 0;
    return out;
  }
}
