// A real S3-compatible server for tests: s3rver (from npm) on a private loopback port, data in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** Stops the server (its handle, in this process) and removes its data. */
  stop(): Promise<void>;
}

export async function startTestS3(bucket = 'tiertalk-files'): Promise<TestS3> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'msfs-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    stop: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
