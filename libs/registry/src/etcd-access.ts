import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigIssue } from '@tiertalk/config';
import type { EtcdTls, RegistryOptions } from './registry';

/** The common config keys that say how to reach etcd securely (libs/config schema). */
export interface EtcdAccessConfig {
  readonly TT_ETCD_ENDPOINTS: readonly string[];
  readonly TT_ETCD_CA?: string | undefined;
  readonly TT_ETCD_CERT?: string | undefined;
  readonly TT_ETCD_KEY?: string | undefined;
  readonly TT_ETCD_USERNAME?: string | undefined;
  readonly TT_ETCD_PASSWORD?: string | undefined;
  readonly TT_TLS_CA?: string | undefined;
  readonly TT_TLS_CERT?: string | undefined;
  readonly TT_TLS_KEY?: string | undefined;
}

/**
 * TLS and auth options for Registry.connect. https:// endpoints use TLS with
 * TT_ETCD_CA (default TT_TLS_CA) and, for etcd's client-certificate auth,
 * TT_ETCD_CERT / TT_ETCD_KEY (default TT_TLS_CERT / TT_TLS_KEY: the tier's own
 * certificate). TT_ETCD_USERNAME / TT_ETCD_PASSWORD add etcd user auth.
 * Throws ConfigError for a half or contradictory setting.
 */
export function etcdAccessFromConfig(config: EtcdAccessConfig, service?: string): Pick<RegistryOptions, 'tls' | 'auth'> {
  const issues: ConfigIssue[] = [];
  const secure = config.TT_ETCD_ENDPOINTS.filter((e) => e.startsWith('https://'));
  const out: Pick<RegistryOptions, 'tls' | 'auth'> = {};
  if (secure.length > 0 && secure.length < config.TT_ETCD_ENDPOINTS.length) {
    issues.push({ key: 'TT_ETCD_ENDPOINTS', message: 'expected all https:// or all http:// endpoints', value: config.TT_ETCD_ENDPOINTS.join(',') });
  }
  if (secure.length === 0) {
    for (const key of ['TT_ETCD_CA', 'TT_ETCD_CERT', 'TT_ETCD_KEY'] as const) {
      if (config[key] !== undefined) issues.push({ key, message: 'set, but TT_ETCD_ENDPOINTS are plain http://; use https:// endpoints', value: config[key] });
    }
  } else {
    const ca = config.TT_ETCD_CA ?? config.TT_TLS_CA;
    const cert = config.TT_ETCD_CERT ?? config.TT_TLS_CERT;
    const key = config.TT_ETCD_KEY ?? config.TT_TLS_KEY;
    if (ca === undefined) issues.push({ key: 'TT_ETCD_CA', message: 'expected the CA file of etcd\'s certificate (https:// endpoints; defaults to TT_TLS_CA)', value: undefined });
    if ((cert === undefined) !== (key === undefined)) issues.push({ key: 'TT_ETCD_CERT', message: 'expected both a client certificate and its key, or neither', value: cert });
    if (issues.length === 0 && ca !== undefined) {
      const tls: EtcdTls = { ca: readPem('TT_ETCD_CA', ca, issues) };
      if (cert !== undefined && key !== undefined) {
        tls.cert = readPem('TT_ETCD_CERT', cert, issues);
        tls.key = readPem('TT_ETCD_KEY', key, issues);
      }
      out.tls = tls;
    }
  }
  if ((config.TT_ETCD_USERNAME === undefined) !== (config.TT_ETCD_PASSWORD === undefined)) {
    issues.push({ key: 'TT_ETCD_USERNAME', message: 'expected TT_ETCD_USERNAME and TT_ETCD_PASSWORD together', value: config.TT_ETCD_USERNAME });
  } else if (config.TT_ETCD_USERNAME !== undefined && config.TT_ETCD_PASSWORD !== undefined) {
    out.auth = { username: config.TT_ETCD_USERNAME, password: config.TT_ETCD_PASSWORD };
  }
  if (issues.length > 0) throw new ConfigError(service, issues);
  return out;
}

function readPem(key: string, file: string, issues: ConfigIssue[]): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    issues.push({ key, message: `expected a readable PEM file (${err instanceof Error ? err.message : String(err)})`, value: file });
    return Buffer.alloc(0);
  }
}
