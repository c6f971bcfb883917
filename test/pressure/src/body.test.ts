import { MAX_BODY_BYTES, encodeBody, parseBody } from './body';

describe('message body', () => {
  const fields = { runId: 'a1b2c3d4', sender: 17, seq: 123456, sentAtMs: 98765.4321 };

  it('round-trips run, sender, seq and send time', () => {
    const b = encodeBody(fields);
    expect(b.toString()).toMatch(/^tt-bench a1b2c3d4 17 123456 98765\.432 $/);
    expect(parseBody(b)).toEqual({ ...fields, sentAtMs: 98765.432 });
  });

  it('pads to the requested size, capped at MAX_MSG_LEN', () => {
    expect(encodeBody(fields, 200)).toHaveLength(200);
    expect(encodeBody(fields, 10_000)).toHaveLength(MAX_BODY_BYTES);
    expect(parseBody(encodeBody(fields, 200))?.seq).toBe(123456);
  });

  it('rejects foreign text', () => {
    expect(parseBody(Buffer.from('hello'))).toBeUndefined();
    expect(parseBody(Buffer.from('tt-bench x -1 2 3 '))).toBeUndefined();
    expect(parseBody(Buffer.from('tt-bench x 1 2 nope '))).toBeUndefined();
  });

  it('parses a body that is a view into a larger buffer', () => {
    const big = Buffer.concat([Buffer.from('garbage'), encodeBody(fields)]);
    expect(parseBody(big.subarray(7))?.sender).toBe(17);
  });
});
