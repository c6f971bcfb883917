import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalFileStore } from '@tiertalk/storage';
import { OfflineStore, isTaskId, offlineKeys } from './offline-store';

const TASK = '0a1b2c3d-0000-4000-8000-00000000beef';

describe('OfflineStore on a real directory', () => {
  let dir: string;
  let offline: OfflineStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'file-offline-'));
    offline = new OfflineStore(new LocalFileStore(dir));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the bytes at offline/<xx>/<task id> (TeamTalk\'s layout) and describes them only once finished', async () => {
    const { sink, done } = offline.begin(TASK);
    sink.end(Buffer.from('hello file'));
    await done;
    expect(await offline.meta(TASK)).toBeUndefined(); // bytes without a description: never served
    await offline.finish({ taskId: TASK, fromUserId: 1, toUserId: 2, fileName: 'a b.txt', fileSize: 10, created: 5 });
    expect(await offline.meta(TASK)).toEqual({ taskId: TASK, fromUserId: 1, toUserId: 2, fileName: 'a b.txt', fileSize: 10, created: 5 });
    expect(readdirSync(path.join(dir, 'offline', '0a')).sort()).toEqual([TASK, `${TASK}.json`]);
    const body = await offline.open(TASK);
    const chunks: Buffer[] = [];
    for await (const c of body!) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello file');
  });

  it('a failed upload leaves nothing', async () => {
    const { sink, done } = offline.begin(TASK);
    sink.write(Buffer.alloc(100));
    sink.destroy(new Error('client went away'));
    await expect(done).rejects.toThrow();
    expect(readdirSync(path.join(dir, 'offline', '0a'))).toEqual([]);
  });

  it('names no file for anything but the server\'s own UUIDs', async () => {
    for (const id of ['', '../x', 'abc', `${TASK}/../..`, TASK.toUpperCase()]) {
      expect(isTaskId(id)).toBe(false);
      expect(await offline.meta(id)).toBeUndefined();
    }
    expect(offlineKeys.meta(TASK)).toBe(`offline/0a/${TASK}.json`);
  });
});
