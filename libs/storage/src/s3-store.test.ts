// Against a real S3-compatible server (s3rver, from npm) started here on a private port.
import { Readable } from 'node:stream';
import { S3_TEST_CREDENTIALS, startTestS3, type TestS3 } from '../test/s3-server';
import { S3FileStore } from './s3-store';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('S3FileStore against s3rver', () => {
  let s3: TestS3;
  let store: S3FileStore;

  beforeAll(async () => {
    s3 = await startTestS3();
    store = new S3FileStore({ bucket: s3.bucket, keyPrefix: 'msfs/', region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: S3_TEST_CREDENTIALS });
  });
  afterAll(async () => {
    store?.close();
    await s3?.stop();
  });

  it('passes its readiness check on an existing bucket, fails on a missing one', async () => {
    await store.check();
    const other = new S3FileStore({ bucket: 'no-such-bucket', keyPrefix: '', region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: S3_TEST_CREDENTIALS });
    await expect(other.check()).rejects.toThrow();
    other.close();
  });

  it('streams a small file in and out under the key prefix', async () => {
    const bytes = Buffer.from('GIF89a tiny');
    await store.put('000/007/1_1.gif', Readable.from([bytes]), 'image/gif');
    const got = await store.get('000/007/1_1.gif');
    expect(got?.size).toBe(bytes.length);
    expect(await readAll(got!.body)).toEqual(bytes);
  });

  it('streams a file larger than one multipart part', async () => {
    const bytes = Buffer.alloc(6 * 1024 * 1024 + 123);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 256 * 1024) chunks.push(bytes.subarray(i, i + 256 * 1024));
    await store.put('100/200/2_2.png', Readable.from(chunks), 'image/png');
    const got = await store.get('100/200/2_2.png');
    expect(got?.size).toBe(bytes.length);
    expect((await readAll(got!.body)).equals(bytes)).toBe(true);
  });

  it('removes an object, and a missing one without an error', async () => {
    await store.put('001/002/5_5.gif', Readable.from([Buffer.from('GIF89a')]), 'image/gif');
    await store.remove('001/002/5_5.gif');
    expect(await store.get('001/002/5_5.gif')).toBeUndefined();
    await store.remove('001/002/5_5.gif');
  });

  it('keeps nothing when the body fails', async () => {
    const body = new Readable({ read() {} });
    const put = store.put('000/000/3_3.jpg', body, 'image/jpeg');
    body.push(Buffer.alloc(1024));
    setImmediate(() => body.destroy(new Error('file over limit')));
    await expect(put).rejects.toThrow();
    expect(await store.get('000/000/3_3.jpg')).toBeUndefined();
  });

  it('answers undefined for a missing object and refuses keys that are not msfs keys', async () => {
    expect(await store.get('000/000/none_1.jpg')).toBeUndefined();
    await expect(store.get('../000/000/x.jpg')).rejects.toThrow('refused storage key');
  });
});
