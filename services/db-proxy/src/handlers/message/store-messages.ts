import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import type { MsgStoreBatch, MsgStoredBatch } from '@tiertalk/proto';
import { tiertalk } from '@tiertalk/proto';
import { MessageCommitter } from './message-committer';

type StoreCall = grpc.ServerDuplexStream<MsgStoreBatch, MsgStoredBatch>;

interface StreamState {
  call: StoreCall;
  peer: string;
  inFlight: number;
  results: tiertalk.MsgStoredItem.$Properties[];
  flushScheduled: boolean;
  clientEnded: boolean;
  stopping: boolean;
  ended: boolean;
  paused: boolean;
}

/**
 * DbProxy.StoreMessages: one long-lived bidi stream per gateway. Items go to
 * the group committer; replies are batched per stream per event-loop turn.
 * While too much waits to be committed the stream is paused (backpressure
 * reaches the gateway through gRPC flow control).
 */
export class StoreMessagesService {
  private readonly streams = new Set<StreamState>();

  constructor(
    private readonly committer: MessageCommitter,
    private readonly queueMax: number,
    private readonly log: Logger,
  ) {
    committer.onProgress(() => this.resumeIfRoom());
  }

  readonly handle = (call: StoreCall): void => {
    const s: StreamState = {
      call,
      peer: call.getPeer(),
      inFlight: 0,
      results: [],
      flushScheduled: false,
      clientEnded: false,
      stopping: false,
      ended: false,
      paused: false,
    };
    this.streams.add(s);
    this.log.info({ peer: s.peer }, 'message stream opened');

    call.on('data', (batch: MsgStoreBatch) => {
      for (const item of batch.items) {
        const ref = item.ref;
        if (item.msg === null || item.msg === undefined) {
          this.reply(s, { ref, msgId: 0, result: tiertalk.StoreResult.STORE_REJECTED, reason: 'no message', code: 'message_invalid' });
          continue;
        }
        s.inFlight += 1;
        this.committer.submit({
          msg: item.msg,
          // proto2 optional: an absent key reads as ''.
          ...(item.idemKey ? { idemKey: item.idemKey } : {}),
          done: (o) => {
            s.inFlight -= 1;
            this.reply(s, { ref, msgId: o.msgId, result: o.result, ...(o.reason ? { reason: o.reason } : {}), ...(o.code ? { code: o.code } : {}), ...(o.memberIds ? { memberIds: o.memberIds } : {}) });
          },
        });
      }
      if (this.committer.queued > this.queueMax && !s.paused) {
        s.paused = true;
        call.pause();
      }
    });
    call.on('end', () => {
      s.clientEnded = true;
      this.maybeEnd(s);
    });
    call.on('error', (err) => {
      // A gateway that went away; its in-flight messages are still committed.
      this.log.warn({ peer: s.peer, err: err.message }, 'message stream error');
      this.close(s);
    });
    call.on('cancelled', () => this.close(s));
  };

  /** SIGTERM: tell every gateway to stop sending (IMStopReceivePacket), finish what arrived, end the streams. */
  async drain(timeoutMs: number): Promise<void> {
    for (const s of this.streams) {
      s.stopping = true;
      if (!s.ended) s.call.write(tiertalk.MsgStoredBatch.create({ items: [], stop: { result: 0 } }));
      this.maybeEnd(s);
    }
    const deadline = Date.now() + timeoutMs;
    while ([...this.streams].some((st) => !st.ended) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await this.committer.idle();
  }

  private reply(s: StreamState, item: tiertalk.MsgStoredItem.$Properties): void {
    if (s.ended) return;
    s.results.push(item);
    if (!s.flushScheduled) {
      s.flushScheduled = true;
      setImmediate(() => this.flush(s));
    }
  }

  private flush(s: StreamState): void {
    s.flushScheduled = false;
    if (s.ended || s.results.length === 0) return;
    const items = s.results;
    s.results = [];
    s.call.write(tiertalk.MsgStoredBatch.create({ items }));
    this.maybeEnd(s);
  }

  private maybeEnd(s: StreamState): void {
    if (s.ended || s.inFlight > 0 || s.results.length > 0) return;
    if (s.clientEnded || s.stopping) {
      s.ended = true;
      s.call.end();
      this.streams.delete(s);
      this.log.info({ peer: s.peer }, 'message stream closed');
    }
  }

  private close(s: StreamState): void {
    s.ended = true;
    this.streams.delete(s);
  }

  private resumeIfRoom(): void {
    if (this.committer.queued > this.queueMax / 2) return;
    for (const s of this.streams) {
      if (s.paused && !s.ended) {
        s.paused = false;
        s.call.resume();
      }
    }
  }
}
