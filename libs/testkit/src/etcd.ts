import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { testConfig } from './config';

/** A fresh etcd key prefix, so concurrent tests never see each other's instances. */
export function uniquePrefix(): string {
  return `/tiertalk-test-${randomBytes(6).toString('hex')}`;
}

export function testEtcd(endpoints: readonly string[] = testConfig.etcdEndpoints): Etcd3 {
  return new Etcd3({ hosts: [...endpoints] });
}

/** Deletes every key under `prefix` (test clean-up). */
export async function deletePrefix(prefix: string): Promise<void> {
  const client = testEtcd();
  try {
    await client.delete().prefix(prefix);
  } finally {
    client.close();
  }
}
