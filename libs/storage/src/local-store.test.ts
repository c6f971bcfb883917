import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalFileStore } from './local-store';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('LocalFileStore', () => {
  let dir: string;
  let store: LocalFileStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'msfs-local-'));
    store = new LocalFileStore(path.join(dir, 'files'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores under <root>/<nnn>/<nnn>/<name> (TeamTalk layout) and reads it back', async () => {
    await store.check();
    const bytes = Buffer.from('\x89PNG fake image bytes');
    await store.put('012/255/1_2.png', Readable.from([bytes.subarray(0, 5), bytes.subarray(5)]), 'image/png');
    expect(readFileSync(path.join(dir, 'files', '012', '255', '1_2.png'))).toEqual(bytes);
    const got = await store.get('012/255/1_2.png');
    expect(got?.size).toBe(bytes.length);
    expect(await readAll(got!.body)).toEqual(bytes);
  });

  it('keeps nothing when the body fails mid-way', async () => {
    const body = new Readable({ read() {} });
    const put = store.put('000/000/3_4.jpg', body, 'image/jpeg');
    body.push(Buffer.alloc(1000));
    setImmediate(() => body.destroy(new Error('client went away')));
    await expect(put).rejects.toThrow();
    expect(readdirSync(path.join(dir, 'files', '000', '000'))).toEqual([]);
    expect(await store.get('000/000/3_4.jpg')).toBeUndefined();
  });

  it('removes a file, and a missing one without an error', async () => {
    await store.put('001/002/5_5.gif', Readable.from([Buffer.from('GIF89a')]), 'image/gif');
    await store.remove('001/002/5_5.gif');
    expect(await store.get('001/002/5_5.gif')).toBeUndefined();
    await store.remove('001/002/5_5.gif');
    await expect(store.remove('../x.gif')).rejects.toThrow('refused storage key');
  });

  it('answers undefined for a missing file and for a directory', async () => {
    expect(await store.get('000/000/none_1.jpg')).toBeUndefined();
    mkdirSync(path.join(dir, 'files', '000', '001', 'dir_1.jpg'), { recursive: true });
    expect(await store.get('000/001/dir_1.jpg')).toBeUndefined();
  });

  it('refuses keys that are not msfs keys or would leave the root', async () => {
    writeFileSync(path.join(dir, 'secret.txt'), 'x');
    for (const key of ['../secret.txt', '000/../../secret.txt', '/etc/passwd', '000/000/../../../secret.txt', 'a/b/c.txt/']) {
      await expect(store.get(key)).rejects.toThrow('refused storage key');
      await expect(store.put(key, Readable.from([Buffer.from('x')]), 'image/png')).rejects.toThrow('refused storage key');
    }
  });

  it('check fails when the root cannot be a directory', async () => {
    writeFileSync(path.join(dir, 'plain-file'), 'x');
    await expect(new LocalFileStore(path.join(dir, 'plain-file')).check()).rejects.toThrow();
  });
});
