import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { CertificateFiles, type CertificateFilesOptions, type TlsFilePaths } from './tls/certificate-files';
import { expectServiceIdentity } from './tls/service-identity';

/**
 * How this process's gRPC servers and clients protect their connections:
 * mutual TLS with certificates from files (the only setting for a real
 * deployment), or plaintext restricted to loopback (TT_GRPC_INSECURE, tests).
 */
export type RpcSecurity = MutualTls | InsecureLoopback;

export interface MutualTls {
  readonly kind: 'mtls';
  readonly files: CertificateFiles;
}

export interface InsecureLoopback {
  readonly kind: 'insecure';
}

/** Plaintext gRPC; bindServer refuses any address but loopback with it. */
export function insecureLoopback(): InsecureLoopback {
  return { kind: 'insecure' };
}

/** Mutual TLS from the three files; reads them at once (throws TlsFilesError when unusable). */
export function mutualTls(paths: TlsFilePaths, opts?: CertificateFilesOptions): MutualTls {
  return { kind: 'mtls', files: new CertificateFiles(paths, opts) };
}

/** True for 127.0.0.0/8, ::1 and "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
}

/**
 * Server credentials: TLS with this process's certificate, asking every
 * client for one. The handshake does not fail without a valid client
 * certificate; the access interceptor refuses such calls with UNAUTHENTICATED
 * instead, so each refusal is counted and logged (access-policy.ts).
 */
export function serverCredentials(security: RpcSecurity): grpc.ServerCredentials {
  if (security.kind === 'insecure') return grpc.ServerCredentials.createInsecure();
  // grpc-js 1.14 passes its first argument on as the identity provider and the
  // second as the CA provider (names swapped); one provider serves both roles.
  return grpc.experimental.createCertificateProviderServerCredentials(security.files, security.files, false);
}

// One credentials object per (files, service): grpc-js shares a connection
// between channels only when their credentials are equal, as before mTLS.
const channelCredentialsCache = new WeakMap<CertificateFiles, Map<string, grpc.ChannelCredentials>>();

/** Channel credentials for calling `service`: its certificate must be CA-signed and name that service. */
export function channelCredentials(security: RpcSecurity, service: string): grpc.ChannelCredentials {
  if (security.kind === 'insecure') return grpc.credentials.createInsecure();
  let byService = channelCredentialsCache.get(security.files);
  if (!byService) channelCredentialsCache.set(security.files, (byService = new Map()));
  let creds = byService.get(service);
  if (!creds) {
    creds = grpc.experimental.createCertificateProviderChannelCredentials(security.files, security.files, {
      checkServerIdentity: expectServiceIdentity(service),
    });
    byService.set(service, creds);
  }
  return creds;
}
