import { FrameError } from './errors';
import { allocBytes, readU16, readU32 } from './bytes';
import { DEFAULT_MAX_FRAME_BYTES, Frame, PDU_HEADER_LENGTH } from './frame';

export interface FrameReaderOptions {
  /** Largest accepted PDU, header included. Default 1 MiB. */
  maxFrameBytes?: number;
}

// Consumed chunks are dropped from the list lazily (see compact) so that a long
// run of tiny chunks costs O(1) amortised per chunk.
const COMPACT_AFTER = 64;
// Shared by every reader holding nothing: an idle connection's reader keeps no array.
const NO_CHUNKS: readonly Uint8Array[] = Object.freeze([]);

/**
 * Streaming PDU decoder. Chunks are kept as a list and each frame is copied at
 * most once (not at all when it lies inside one chunk, in which case `body` is a
 * view of that chunk: callers must not reuse pushed buffers). Portable: runs in
 * browsers too; under Node a frame pushed as Buffers comes out as a Buffer.
 */
export class FrameReader<B extends Uint8Array = Buffer> {
  private maxFrameBytes: number;
  private chunks: readonly Uint8Array[] = NO_CHUNKS;
  /** Index of the first unconsumed chunk in `chunks`. */
  private head = 0;
  /** Bytes already consumed from `chunks[head]`. */
  private headOffset = 0;
  private buffered = 0;
  private failure: FrameError | undefined;

  constructor(opts: FrameReaderOptions = {}) {
    const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < PDU_HEADER_LENGTH) {
      throw new RangeError(`maxFrameBytes must be an integer >= ${PDU_HEADER_LENGTH}, got ${max}`);
    }
    this.maxFrameBytes = max;
  }

  /**
   * Changes the cap for frames not yet started (a server allows only a small
   * frame before login, the full size after). Checked again on the next push.
   */
  setMaxFrameBytes(max: number): void {
    if (!Number.isInteger(max) || max < PDU_HEADER_LENGTH) {
      throw new RangeError(`maxFrameBytes must be an integer >= ${PDU_HEADER_LENGTH}, got ${max}`);
    }
    this.maxFrameBytes = max;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Appends a chunk and returns every frame it completes, in order.
   * Throws FrameError on a bad length; the reader then stays failed.
   */
  push(chunk: B): Frame<B>[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      if (this.chunks === NO_CHUNKS) this.chunks = [chunk];
      else (this.chunks as Uint8Array[]).push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame<B>[] = [];
    // The length is checked as soon as its 4 bytes arrive, before any body is buffered.
    while (this.buffered >= 4) {
      const length = this.peekLength();
      this.checkLength(length);
      if (this.buffered < length) break;
      frames.push(toFrame(this.take(length) as B));
    }
    return frames;
  }

  private checkLength(length: number): void {
    if (length < PDU_HEADER_LENGTH) {
      this.fail(new FrameError('FRAME_TOO_SHORT', length, `PDU length ${length} is shorter than the ${PDU_HEADER_LENGTH}-byte header`));
    }
    if (length > this.maxFrameBytes) {
      this.fail(new FrameError('FRAME_TOO_LARGE', length, `PDU length ${length} exceeds the limit of ${this.maxFrameBytes} bytes`));
    }
  }

  private fail(err: FrameError): never {
    this.failure = err;
    // Drop what we hold: the stream is lost and the caller closes the connection.
    this.chunks = NO_CHUNKS;
    this.head = 0;
    this.headOffset = 0;
    this.buffered = 0;
    throw err;
  }

  /** Reads the u32 length at the read position; caller ensures 4 bytes are buffered. */
  private peekLength(): number {
    const first = this.chunks[this.head];
    if (first.length - this.headOffset >= 4) return readU32(first, this.headOffset);
    const tmp = new Uint8Array(4);
    let filled = 0;
    let i = this.head;
    let off = this.headOffset;
    while (filled < 4) {
      const c = this.chunks[i];
      const n = Math.min(4 - filled, c.length - off);
      tmp.set(c.subarray(off, off + n), filled);
      filled += n;
      i += 1;
      off = 0;
    }
    return readU32(tmp, 0);
  }

  /** Removes `n` buffered bytes (n <= buffered) and returns them contiguous. */
  private take(n: number): Uint8Array {
    const first = this.chunks[this.head];
    let out: Uint8Array;
    if (first.length - this.headOffset >= n) {
      out = first.subarray(this.headOffset, this.headOffset + n);
      this.advance(n);
    } else {
      out = allocBytes(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[this.head];
        const k = Math.min(n - filled, c.length - this.headOffset);
        out.set(c.subarray(this.headOffset, this.headOffset + k), filled);
        filled += k;
        this.advance(k);
      }
    }
    this.buffered -= n;
    this.compact();
    return out;
  }

  /** Moves the read position by k bytes within or past the head chunk. */
  private advance(k: number): void {
    this.headOffset += k;
    if (this.headOffset === this.chunks[this.head].length) {
      this.head += 1;
      this.headOffset = 0;
    }
  }

  /** Drops consumed chunks; only when they are at least half the list, so the copy is amortised. */
  private compact(): void {
    if (this.head === this.chunks.length) {
      this.chunks = NO_CHUNKS;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

function toFrame<B extends Uint8Array>(pdu: B): Frame<B> {
  return {
    serviceId: readU16(pdu, 8),
    commandId: readU16(pdu, 10),
    seqNum: readU16(pdu, 12),
    body: pdu.subarray(PDU_HEADER_LENGTH) as B,
  };
}
