import type { Readable } from 'node:stream';

/** Reads a stream in chunks of the sizes asked for, in order (an offline download pulls its file front to back). */
export class ChunkReader {
  private readonly it: AsyncIterator<Buffer>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private ended = false;
  /** Bytes handed out so far: the offset the next chunk starts at. */
  position = 0;

  constructor(private readonly stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The next `n` bytes, fewer only at the end of the stream. */
  async take(n: number): Promise<Buffer> {
    while (this.pendingBytes < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else {
        this.pending.push(r.value);
        this.pendingBytes += r.value.length;
      }
    }
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    this.position += out.length;
    return out;
  }

  close(): void {
    this.stream.destroy();
  }
}
