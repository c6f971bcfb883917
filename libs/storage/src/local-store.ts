import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink, access, constants } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, type FileStore, type StoredFile } from './file-store';

/** Files under one directory, laid out as TeamTalk's msfs did (<root>/<nnn>/<nnn>/<name>). */
export class LocalFileStore implements FileStore {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.description = `local ${this.root}`;
  }

  async put(key: string, body: Readable, _contentType: string): Promise<void> {
    const file = this.resolve(key);
    // The body may fail while the directory is made: held here, pipeline below reports it.
    const holdError = (): void => undefined;
    body.on('error', holdError);
    try {
      await mkdir(path.dirname(file), { recursive: true });
    } finally {
      body.off('error', holdError);
    }
    // Written beside its final name and renamed when complete: a reader never sees half a file.
    const partial = `${file}.${randomBytes(6).toString('hex')}.part`;
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx' }));
      await rename(partial, file);
    } catch (err) {
      await unlink(partial).catch(() => undefined);
      throw err;
    }
  }

  async get(key: string): Promise<StoredFile | undefined> {
    const file = this.resolve(key);
    const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
    if (!info?.isFile()) return undefined;
    return { size: info.size, body: createReadStream(file) };
  }

  async remove(key: string): Promise<void> {
    await unlink(this.resolve(key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root, constants.R_OK | constants.W_OK);
  }

  close(): void {
    // Nothing held open between requests.
  }

  /** The file of a key; throws for one that is malformed or would leave the root. */
  resolve(key: string): string {
    assertSafeKey(key);
    const file = path.resolve(this.root, key);
    if (!file.startsWith(this.root + path.sep)) throw new Error(`refused storage key ${JSON.stringify(key)}`);
    return file;
  }
}
