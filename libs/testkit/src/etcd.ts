import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';

/** PEM files of a TLS etcd: its CA and a client certificate it accepts. */
export interface EtcdTlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}
import { testConfig } from './config';

/** A fresh etcd key prefix, so concurrent tests never see each other's instances. */
export function uniquePrefix(): string {
  return `/tiertalk-test-${randomBytes(6).toString('hex')}`;
}

export function testEtcd(endpoints: readonly string[] = testConfig.etcdEndpoints, tls?: EtcdTlsFiles): Etcd3 {
  if (!tls) return new Etcd3({ hosts: [...endpoints] });
  return new Etcd3({
    hosts: [...endpoints],
    credentials: { rootCertificate: readFileSync(tls.ca), certChain: readFileSync(tls.cert), privateKey: readFileSync(tls.key) },
  });
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
