// Property-based fuzzing of the PDU decoder (issue 11 part 7): random, mutated
// and hostile byte streams, split at random boundaries, checked against a
// one-pass reference parser. fast-check shrinks any failure to a minimal stream.
import fc from 'fast-check';
import { DEFAULT_MAX_FRAME_BYTES, FrameError, FrameReader, PDU_HEADER_LENGTH, encodeFrame, readHeader } from './index';
import type { Frame } from './index';

// Bounded so the file runs in a few seconds on a slow CI machine.
const RUNS = 300;

interface Expected {
  frames: Frame[];
  /** Stream offset just past each frame. */
  ends: number[];
  /** The error the stream must end in, if its framing breaks. */
  error?: FrameError['code'];
}

/** Reference parser: walks the whole stream at once. */
function parseWhole(stream: Buffer, max: number): Expected {
  const frames: Frame[] = [];
  const ends: number[] = [];
  let off = 0;
  while (stream.length - off >= 4) {
    const length = stream.readUInt32BE(off);
    if (length < PDU_HEADER_LENGTH) return { frames, ends, error: 'FRAME_TOO_SHORT' };
    if (length > max) return { frames, ends, error: 'FRAME_TOO_LARGE' };
    if (stream.length - off < length) break;
    const h = readHeader(stream, off);
    frames.push({ serviceId: h.serviceId, commandId: h.commandId, seqNum: h.seqNum, body: stream.subarray(off + PDU_HEADER_LENGTH, off + length) });
    off += length;
    ends.push(off);
  }
  return { frames, ends };
}

interface Outcome {
  frames: Frame[];
  error?: FrameError['code'];
  /** Largest bufferedBytes seen after a push that returned. */
  maxBuffered: number;
  /** Stream offsets where the chunk whose push threw starts and ends. */
  failedAt?: number;
  failedChunkEnd?: number;
}

/** Feeds the stream cut at `cuts`; any error other than FrameError escapes and fails the property. */
function feed(stream: Buffer, cuts: number[], max: number): Outcome {
  const reader = new FrameReader({ maxFrameBytes: max });
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: Outcome = { frames: [], maxBuffered: 0 };
  let from = 0;
  for (const to of [...points, stream.length]) {
    try {
      out.frames.push(...reader.push(Buffer.from(stream.subarray(from, to))));
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      out.error = err.code;
      out.failedAt = from;
      out.failedChunkEnd = to;
      // A failed reader stays failed and holds nothing.
      expect(reader.bufferedBytes).toBe(0);
      expect(() => reader.push(Buffer.alloc(1))).toThrow(FrameError);
      return out;
    }
    out.maxBuffered = Math.max(out.maxBuffered, reader.bufferedBytes);
    from = to;
  }
  return out;
}

/**
 * The reader's frames are the reference's, except that a push that throws
 * returns nothing: frames completed by the failing chunk are lost with the
 * connection (documented: the caller closes it).
 */
function expectAgrees(got: Outcome, want: Expected): void {
  expect(got.error).toBe(want.error);
  const failedAt = got.failedAt;
  sameFrames(got.frames, failedAt === undefined ? want.frames : want.frames.filter((_, i) => want.ends[i] <= failedAt));
}

function sameFrames(a: Frame[], b: Frame[]): void {
  expect(a.map((f) => [f.serviceId, f.commandId, f.seqNum, f.body.toString('hex')])).toEqual(
    b.map((f) => [f.serviceId, f.commandId, f.seqNum, f.body.toString('hex')]),
  );
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const validFrame = fc
  .record({ sid: u16, cid: u16, seq: u16, body: fc.uint8Array({ maxLength: 300 }) })
  .map(({ sid, cid, seq, body }) => encodeFrame(sid, cid, seq, body));

/** Hostile values for the 4-byte length field. */
const hostileLength = fc.oneof(
  fc.constantFrom(0, 1, 15, 16, 17, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_FRAME_BYTES + 1),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'length'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('length' as const), at: fc.nat(), value: hostileLength }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(stream: Buffer, m: Mutation): Buffer {
  if (stream.length === 0) return stream;
  const at = m.at % stream.length;
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(stream);
      out[at] = m.byte;
      return out;
    }
    case 'length': {
      const out = Buffer.from(stream);
      if (at + 4 <= out.length) out.writeUInt32BE(m.value, at);
      return out;
    }
    case 'insert':
      return Buffer.concat([stream.subarray(0, at), m.bytes, stream.subarray(at)]);
    case 'truncate':
      return stream.subarray(0, at);
  }
}

const cuts = fc.array(fc.nat(), { maxLength: 12 });
const maxFrame = fc.oneof(fc.constant(DEFAULT_MAX_FRAME_BYTES), fc.integer({ min: PDU_HEADER_LENGTH, max: 400 }));

describe('FrameReader under fuzzing', () => {
  it('round-trips any sequence of valid frames split at any boundaries', () => {
    fc.assert(
      fc.property(fc.array(validFrame, { maxLength: 8 }), cuts, (pdus, at) => {
        const stream = Buffer.concat(pdus);
        const got = feed(stream, at, DEFAULT_MAX_FRAME_BYTES);
        expect(got.error).toBeUndefined();
        sameFrames(got.frames, parseWhole(stream, DEFAULT_MAX_FRAME_BYTES).frames);
        expect(got.frames).toHaveLength(pdus.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('matches the reference parser on mutated streams: same frames, then only its documented errors', () => {
    fc.assert(
      fc.property(fc.array(validFrame, { maxLength: 6 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), cuts, maxFrame, (pdus, ms, at, max) => {
        const stream = ms.reduce(mutate, Buffer.concat(pdus));
        const want = parseWhole(stream, max);
        const got = feed(stream, at, max);
        expectAgrees(got, want);
        // Whatever is held back is less than one (allowed) frame.
        expect(got.maxBuffered).toBeLessThan(max);
      }),
      { numRuns: RUNS },
    );
  });

  it('matches the reference parser on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), cuts, maxFrame, (bytes, at, max) => {
        const stream = Buffer.from(bytes);
        const want = parseWhole(stream, max);
        const got = feed(stream, at, max);
        expectAgrees(got, want);
        expect(got.maxBuffered).toBeLessThan(max);
      }),
      { numRuns: RUNS },
    );
  });

  it('rejects a hostile length as soon as its 4 bytes arrive and never allocates by it', () => {
    const alloc = jest.spyOn(Buffer, 'allocUnsafe');
    try {
      fc.assert(
        fc.property(fc.array(validFrame, { maxLength: 3 }), hostileLength, fc.uint8Array({ maxLength: 64 }), cuts, (good, length, tail, at) => {
          const max = DEFAULT_MAX_FRAME_BYTES;
          const header = Buffer.alloc(4);
          header.writeUInt32BE(length, 0);
          const stream = Buffer.concat([...good, header, tail]);
          alloc.mockClear();
          const got = feed(stream, at, max);
          expectAgrees(got, parseWhole(stream, max));
          if (length < PDU_HEADER_LENGTH) expect(got.error).toBe('FRAME_TOO_SHORT');
          else if (length > max) expect(got.error).toBe('FRAME_TOO_LARGE');
          else expect(got.error).toBeUndefined();
          if (got.error !== undefined) {
            // Refused by the push that completed the length field, not later.
            const lengthEnd = stream.length - tail.length;
            expect(got.failedAt).toBeLessThan(lengthEnd);
            expect(got.failedChunkEnd).toBeGreaterThanOrEqual(lengthEnd);
          }
          for (const [size] of alloc.mock.calls) expect(size).toBeLessThanOrEqual(max);
        }),
        { numRuns: RUNS },
      );
    } finally {
      alloc.mockRestore();
    }
  });

  it('encodeFrame and readHeader agree for any ids and body', () => {
    fc.assert(
      fc.property(u16, u16, u16, fc.uint8Array({ maxLength: 200 }), (sid, cid, seq, body) => {
        const pdu = encodeFrame(sid, cid, seq, body);
        expect(readHeader(pdu)).toEqual({ length: PDU_HEADER_LENGTH + body.length, version: 1, flag: 0, serviceId: sid, commandId: cid, seqNum: seq, reserved: 0 });
      }),
      { numRuns: RUNS },
    );
  });
});
