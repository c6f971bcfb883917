import { DEFAULT_MAX_FRAME_BYTES, Frame, FrameError, FrameReader, PDU_HEADER_LENGTH, encodeFrame } from './index';

function bodyOf(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 1) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function expectFrame(f: Frame | undefined, sid: number, cid: number, seq: number, body: Buffer): void {
  expect(f).toBeDefined();
  expect(f?.serviceId).toBe(sid);
  expect(f?.commandId).toBe(cid);
  expect(f?.seqNum).toBe(seq);
  expect(f?.body.equals(body)).toBe(true);
}

function rawHeader(length: number): Buffer {
  const b = Buffer.alloc(PDU_HEADER_LENGTH);
  b.writeUInt32BE(length, 0);
  return b;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof FrameError) return err.code;
    throw err;
  }
  return undefined;
}

describe('FrameReader', () => {
  it('decodes a frame split at every byte offset', () => {
    const body = bodyOf(37);
    const pdu = encodeFrame(3, 0x0301, 9, body);
    for (let cut = 0; cut <= pdu.length; cut += 1) {
      const r = new FrameReader();
      const first = r.push(pdu.subarray(0, cut));
      const second = r.push(pdu.subarray(cut));
      const frames = [...first, ...second];
      expect(frames).toHaveLength(1);
      expectFrame(frames[0], 3, 0x0301, 9, body);
      expect(r.bufferedBytes).toBe(0);
    }
  });

  it('decodes a frame fed one byte at a time', () => {
    const body = bodyOf(100, 3);
    const pdu = encodeFrame(4, 0x0401, 1, body);
    const r = new FrameReader();
    const frames: Frame[] = [];
    for (let i = 0; i < pdu.length; i += 1) {
      frames.push(...r.push(pdu.subarray(i, i + 1)));
      expect(r.bufferedBytes).toBe(i + 1 === pdu.length ? 0 : i + 1);
    }
    expect(frames).toHaveLength(1);
    expectFrame(frames[0], 4, 0x0401, 1, body);
  });

  it('returns several frames from one chunk, in order, keeping the tail', () => {
    const a = encodeFrame(1, 0x0103, 1, bodyOf(5));
    const b = encodeFrame(7, 0x0701, 0, Buffer.alloc(0));
    const c = encodeFrame(3, 0x0301, 2, bodyOf(300, 1));
    const all = Buffer.concat([a, b, c]);
    const r = new FrameReader();
    const frames = r.push(all.subarray(0, a.length + b.length + 10));
    expect(frames).toHaveLength(2);
    expectFrame(frames[0], 1, 0x0103, 1, bodyOf(5));
    expectFrame(frames[1], 7, 0x0701, 0, Buffer.alloc(0));
    expect(r.bufferedBytes).toBe(10);
    const rest = r.push(all.subarray(a.length + b.length + 10));
    expect(rest).toHaveLength(1);
    expectFrame(rest[0], 3, 0x0301, 2, bodyOf(300, 1));
  });

  it('splits merged frames correctly at every offset', () => {
    const pdus = [encodeFrame(1, 1, 1, bodyOf(3)), encodeFrame(2, 2, 2, Buffer.alloc(0)), encodeFrame(3, 3, 3, bodyOf(20, 5))];
    const all = Buffer.concat(pdus);
    for (let cut = 0; cut <= all.length; cut += 1) {
      const r = new FrameReader();
      const frames = [...r.push(all.subarray(0, cut)), ...r.push(all.subarray(cut))];
      expect(frames.map((f) => f.seqNum)).toEqual([1, 2, 3]);
      expect(frames[2].body.equals(bodyOf(20, 5))).toBe(true);
    }
  });

  it('accepts an empty body (length 16)', () => {
    const r = new FrameReader();
    const frames = r.push(encodeFrame(7, 0x0701, 5, new Uint8Array(0)));
    expect(frames).toHaveLength(1);
    expect(frames[0].body.length).toBe(0);
  });

  it('rejects length 0 with FRAME_TOO_SHORT as soon as the length is known', () => {
    const r = new FrameReader();
    expect(codeOf(() => r.push(Buffer.from([0, 0, 0, 0])))).toBe('FRAME_TOO_SHORT');
  });

  it('rejects a length below the header size', () => {
    const r = new FrameReader();
    expect(codeOf(() => r.push(rawHeader(15)))).toBe('FRAME_TOO_SHORT');
  });

  it('rejects an oversize declared length before buffering the body, and stays failed', () => {
    const r = new FrameReader({ maxFrameBytes: 1000 });
    expect(codeOf(() => r.push(rawHeader(1001)))).toBe('FRAME_TOO_LARGE');
    expect(r.bufferedBytes).toBe(0);
    expect(codeOf(() => r.push(encodeFrame(1, 1, 1, Buffer.alloc(0))))).toBe('FRAME_TOO_LARGE');
  });

  it('rejects a frame one byte over the default limit, accepts one at the limit', () => {
    expect(codeOf(() => new FrameReader().push(rawHeader(DEFAULT_MAX_FRAME_BYTES + 1)))).toBe('FRAME_TOO_LARGE');
    expect(codeOf(() => new FrameReader().push(rawHeader(DEFAULT_MAX_FRAME_BYTES)))).toBeUndefined();
  });

  it('applies a raised cap to the next frame (a small cap before login, the full one after)', () => {
    const r = new FrameReader({ maxFrameBytes: 64 });
    const big = encodeFrame(1, 1, 2, bodyOf(100));
    expect(codeOf(() => new FrameReader({ maxFrameBytes: 64 }).push(big))).toBe('FRAME_TOO_LARGE');
    expect(r.push(encodeFrame(1, 1, 1, bodyOf(10)))).toHaveLength(1);
    r.setMaxFrameBytes(1000);
    const frames = r.push(big);
    expect(frames).toHaveLength(1);
    expectFrame(frames[0], 1, 1, 2, bodyOf(100));
    expect(() => r.setMaxFrameBytes(3)).toThrow(RangeError);
  });

  it('detects a bad length that follows a good frame in the same chunk', () => {
    const r = new FrameReader();
    let err: unknown;
    try {
      r.push(Buffer.concat([encodeFrame(1, 1, 1, Buffer.alloc(0)), Buffer.from([0, 0, 0, 3])]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
  });

  it('reassembles a 1 MiB frame delivered in 64 KiB chunks', () => {
    const body = bodyOf(DEFAULT_MAX_FRAME_BYTES - PDU_HEADER_LENGTH, 9);
    const pdu = encodeFrame(5, 0x0501, 77, body);
    const r = new FrameReader();
    const frames: Frame[] = [];
    const step = 64 * 1024;
    for (let off = 0; off < pdu.length; off += step) {
      frames.push(...r.push(pdu.subarray(off, off + step)));
      if (off + step < pdu.length) expect(frames).toHaveLength(0);
    }
    expect(frames).toHaveLength(1);
    expectFrame(frames[0], 5, 0x0501, 77, body);
    expect(r.bufferedBytes).toBe(0);
  });

  it('stays linear on many tiny chunks', () => {
    const pdu = encodeFrame(5, 0x0501, 1, bodyOf(100_000));
    const many = Buffer.concat([pdu, pdu, pdu]);
    const r = new FrameReader();
    let count = 0;
    const started = Date.now();
    for (let i = 0; i < many.length; i += 1) count += r.push(many.subarray(i, i + 1)).length;
    expect(count).toBe(3);
    // 300k one-byte chunks; a reader that re-copies or re-scans per chunk takes minutes here.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
