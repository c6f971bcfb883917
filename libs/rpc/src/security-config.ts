import { ConfigError, type ConfigIssue } from '@tiertalk/config';
import type { Logger } from '@tiertalk/log';
import { insecureLoopback, isLoopbackHost, mutualTls, type RpcSecurity } from './security';
import { TlsFilesError } from './tls/certificate-files';

/** The common config keys that choose how gRPC is protected (libs/config schema). */
export interface GrpcSecurityConfig {
  readonly TT_GRPC_INSECURE: boolean;
  readonly TT_TLS_CA?: string | undefined;
  readonly TT_TLS_CERT?: string | undefined;
  readonly TT_TLS_KEY?: string | undefined;
}

export interface RpcSecurityFromConfigOptions {
  /** Service name for the error message. */
  readonly service: string;
  /** The address this process's gRPC server binds (TT_GRPC_HOST); undefined for a client-only tool. */
  readonly bindHost: string | undefined;
  readonly logger: Logger;
  /** How often the TLS files are checked for changes (default 5000 ms). */
  readonly pollIntervalMs?: number;
}

const TLS_KEYS = ['TT_TLS_CA', 'TT_TLS_CERT', 'TT_TLS_KEY'] as const;

/**
 * Mutual TLS from TT_TLS_CA / TT_TLS_CERT / TT_TLS_KEY, or plaintext when
 * TT_GRPC_INSECURE=true and the bind address is loopback. Anything else is a
 * ConfigError (exitOnConfigError turns it into a clear start-up failure):
 * there is no silent plaintext fallback.
 */
export function rpcSecurityFromConfig(config: GrpcSecurityConfig, opts: RpcSecurityFromConfigOptions): RpcSecurity {
  const fail = (issues: ConfigIssue[]): never => {
    throw new ConfigError(opts.service, issues);
  };
  const given = TLS_KEYS.filter((k) => config[k] !== undefined);
  if (config.TT_GRPC_INSECURE) {
    if (opts.bindHost !== undefined && !isLoopbackHost(opts.bindHost)) {
      fail([{ key: 'TT_GRPC_INSECURE', message: `plaintext gRPC is only allowed on a loopback TT_GRPC_HOST (is ${opts.bindHost}); configure TT_TLS_CA, TT_TLS_CERT and TT_TLS_KEY instead`, value: true }]);
    }
    if (given.length > 0) {
      fail([{ key: 'TT_GRPC_INSECURE', message: `expected either TT_GRPC_INSECURE=true or the TLS files, not both (${given.join(', ')} set)`, value: true }]);
    }
    opts.logger.warn({ bindHost: opts.bindHost }, 'gRPC runs WITHOUT TLS (TT_GRPC_INSECURE=true): every local process can call this service');
    return insecureLoopback();
  }
  const missing = TLS_KEYS.filter((k) => config[k] === undefined);
  if (missing.length > 0) {
    fail(
      missing.map((key) => ({
        key,
        message: 'expected a PEM file path: gRPC between tiers needs TT_TLS_CA, TT_TLS_CERT and TT_TLS_KEY (or TT_GRPC_INSECURE=true on a loopback TT_GRPC_HOST, for development)',
        value: undefined,
      })),
    );
  }
  const paths = { ca: config.TT_TLS_CA ?? '', cert: config.TT_TLS_CERT ?? '', key: config.TT_TLS_KEY ?? '' };
  try {
    return mutualTls(paths, {
      pollIntervalMs: opts.pollIntervalMs,
      onReload: (r) => {
        if (r.ok) opts.logger.info({ cert: paths.cert }, 'TLS certificates reloaded; new connections use them');
        else opts.logger.error({ err: r.error }, 'TLS certificate reload refused; the previous certificates stay in use');
      },
    });
  } catch (err) {
    if (err instanceof TlsFilesError) return fail([{ key: 'TT_TLS_CERT', message: err.message, value: paths.cert }]);
    throw err;
  }
}

/** Reloads the TLS files on SIGHUP (a plaintext setup ignores it); returns the remover. */
export function reloadTlsOnSighup(security: RpcSecurity): () => void {
  const onHup = (): void => {
    if (security.kind === 'mtls') security.files.reload();
  };
  process.on('SIGHUP', onHup);
  return () => process.off('SIGHUP', onHup);
}
