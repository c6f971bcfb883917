/** The part of a gRPC stream (or any Writable) a FlowControlledWriter uses. */
export interface DrainableStream<T> {
  write(message: T): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Writes messages to a stream and honours its back-pressure, like the
 * gateway's client connections do (services/msg/src/conn/connection.ts):
 * once write() returns false nothing more is written until 'drain'; messages
 * given meanwhile wait here and go out in order. If the stream fails instead
 * of draining, the waiting messages are dropped with it: the stream's owner
 * already treats everything it gave an ended stream as unanswered.
 */
export class FlowControlledWriter<T> {
  private backlog: T[] = [];
  private blocked = false;

  constructor(
    private readonly stream: DrainableStream<T>,
    /** A write after 'drain' threw (the stream broke meanwhile); the waiting messages are dropped. */
    private readonly onWriteError: (err: unknown) => void = () => undefined,
  ) {}

  /** Messages held until the stream drains. */
  get waiting(): number {
    return this.backlog.length;
  }

  /** True while the stream is over its high-water mark. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Writes now, or after the stream drained (in order). Throws what the stream's write throws. */
  write(message: T): void {
    if (this.blocked) {
      this.backlog.push(message);
      return;
    }
    if (!this.stream.write(message)) this.block();
  }

  private block(): void {
    this.blocked = true;
    this.stream.once('drain', () => this.onDrain());
  }

  private onDrain(): void {
    this.blocked = false;
    const pending = this.backlog;
    this.backlog = [];
    let i = 0;
    try {
      while (i < pending.length && !this.blocked) this.write(pending[i++]);
    } catch (err) {
      this.backlog = [];
      this.onWriteError(err);
      return;
    }
    // Blocked again part-way: the rest keeps its place ahead of later messages.
    if (i < pending.length) this.backlog = pending.slice(i).concat(this.backlog);
  }
}
