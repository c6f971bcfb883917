import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, NoSuchKey, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { assertSafeKey, type FileStore, type StoredFile } from './file-store';

export interface S3StoreOptions {
  bucket: string;
  /** Prepended to every key: "" or ending with "/". */
  keyPrefix: string;
  region: string;
  /** An S3-compatible server's URL; undefined = AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** undefined = the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

// S3's smallest multipart part. One part in flight: an upload holds at most this much in memory.
const PART_BYTES = 5 * 1024 * 1024;

/** Files as objects of one bucket (any S3-compatible store), streamed in both directions. */
export class S3FileStore implements FileStore {
  readonly description: string;
  private readonly client: S3Client;

  constructor(private readonly opts: S3StoreOptions) {
    const config: S3ClientConfig = { region: opts.region, forcePathStyle: opts.forcePathStyle };
    if (opts.endpoint !== undefined) config.endpoint = opts.endpoint;
    if (opts.credentials !== undefined) config.credentials = opts.credentials;
    this.client = new S3Client(config);
    this.description = `s3 ${opts.bucket}/${opts.keyPrefix}`;
  }

  async put(key: string, body: Readable, contentType: string): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key: this.objectKey(key), Body: body, ContentType: contentType },
      partSize: PART_BYTES,
      queueSize: 1,
      // A failed multipart upload is aborted, so no parts are left behind to pay for.
      leavePartsOnError: false,
    });
    // lib-storage reads the stream as an iterator; a body destroyed with an error (size limit) rejects here.
    await upload.done();
  }

  async get(key: string): Promise<StoredFile | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }));
      if (!(out.Body instanceof Readable)) throw new Error('S3 answered without a body stream');
      return { size: Number(out.ContentLength ?? 0), body: out.Body };
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    // S3 answers a delete of a missing key with success.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }));
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.opts.bucket }));
  }

  close(): void {
    this.client.destroy();
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return `${this.opts.keyPrefix}${key}`;
  }
}
