import type { Logger } from '@tiertalk/log';
import { etcdAccessFromConfig, type EtcdAccessConfig } from './etcd-access';
import { Registry } from './registry';

/** The common config keys of a service that registers in etcd (libs/config schema). */
export interface RegistryConfig extends EtcdAccessConfig {
  readonly TT_ETCD_PREFIX: string;
  readonly TT_LEASE_TTL_SEC: number;
}

/**
 * Registry.connect with a service's common etcd settings (endpoints, prefix,
 * lease TTL, TLS and auth). Rejects with ConfigError for bad etcd TLS or auth settings.
 */
export async function connectRegistry(config: RegistryConfig, service: string, logger: Logger): Promise<Registry> {
  return Registry.connect({
    endpoints: [...config.TT_ETCD_ENDPOINTS],
    prefix: config.TT_ETCD_PREFIX,
    leaseTtlSec: config.TT_LEASE_TTL_SEC,
    logger,
    ...etcdAccessFromConfig(config, service),
  });
}
