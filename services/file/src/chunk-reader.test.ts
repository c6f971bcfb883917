import { Readable } from 'node:stream';
import { ChunkReader } from './chunk-reader';

describe('ChunkReader', () => {
  it('hands out the sizes asked for across the stream\'s own chunk boundaries, fewer only at the end', async () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const r = new ChunkReader(Readable.from([data.subarray(0, 7), data.subarray(7, 500), data.subarray(500, 501), data.subarray(501)]));
    const got: Buffer[] = [];
    for (const n of [3, 300, 1, 400]) got.push(await r.take(n));
    expect(got.map((b) => b.length)).toEqual([3, 300, 1, 400]);
    expect(r.position).toBe(704);
    const rest = await r.take(1000);
    expect(rest.length).toBe(296);
    expect(Buffer.concat([...got, rest]).equals(data)).toBe(true);
    expect((await r.take(10)).length).toBe(0);
  });
});
