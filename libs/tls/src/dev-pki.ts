import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';

/**
 * A development PKI made with the openssl command line (present on every
 * Debian machine): one CA and one certificate per name. Each certificate
 * says who it is twice, as subject CN and as a URI SAN
 * `spiffe://tiertalk/<name>`; servers authorise callers by that name. Every
 * certificate is valid for both server and client auth and for localhost /
 * 127.0.0.1, so one file serves a service's gRPC port, its calls to other
 * tiers and (for msg and login) its client-facing TLS port.
 *
 * For development and tests only: production certificates come from the
 * operator's own CA (docs/SECURITY.md).
 */
export interface DevPkiOptions {
  /** Extra DNS names / IPs put in every certificate's SAN. */
  readonly hosts?: readonly string[];
  /** Days of validity (default 825). */
  readonly days?: number;
}

export interface DevPki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  certFor(name: string): { cert: string; key: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function sanFor(name: string, hosts: readonly string[]): string {
  const dns = new Set(['localhost', name, ...hosts.filter((h) => !/^[\d.]+$|:/.test(h))]);
  const ips = new Set(['127.0.0.1', '::1', ...hosts.filter((h) => /^[\d.]+$|:/.test(h))]);
  return [
    `URI:spiffe://tiertalk/${name}`,
    ...[...dns].map((d) => `DNS:${d}`),
    ...[...ips].map((i) => `IP:${i}`),
  ].join(',');
}

/** Creates (or completes) the PKI in `dir`: keeps an existing CA and certificates, adds missing ones. */
export function createDevPki(dir: string, names: readonly string[], opts: DevPkiOptions = {}): DevPki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const days = String(opts.days ?? 825);
  const hosts = opts.hosts ?? [];
  if (!existsSync(path.join(dir, 'ca.crt'))) {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
    openssl(
      ['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', days, '-subj', '/O=TierTalk dev/CN=TierTalk dev CA',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt'],
      dir,
    );
  }
  for (const name of names) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`bad certificate name ${JSON.stringify(name)}`);
    if (existsSync(path.join(dir, `${name}.crt`))) continue;
    const ext = path.join(dir, `${name}.ext`);
    writeFileSync(
      ext,
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        `subjectAltName=${sanFor(name, hosts)}`,
        '',
      ].join('\n'),
    );
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.ec.key`], dir);
    // PKCS#8: what Node's tls and grpc-js read without surprises.
    openssl(['pkcs8', '-topk8', '-nocrypt', '-in', `${name}.ec.key`, '-out', `${name}.key`], dir);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/O=TierTalk dev/CN=${name}`, '-out', `${name}.csr`], dir);
    openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-sha256',
        '-days', days, '-extfile', `${name}.ext`, '-out', `${name}.crt`],
      dir,
    );
    for (const tmp of [`${name}.ec.key`, `${name}.csr`, `${name}.ext`]) execFileSync('rm', ['-f', path.join(dir, tmp)]);
    chmodSync(path.join(dir, `${name}.key`), 0o600);
  }
  chmodSync(path.join(dir, 'ca.key'), 0o600);
  return {
    dir,
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    certFor: (name) => ({ cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) }),
  };
}

/** The names `make up` issues: one per service plus the operator's `admin` and the send API's `http-api`. */
export const DEV_PKI_NAMES = ['db-proxy', 'route', 'msg', 'msfs', 'file', 'login', 'admin', 'push', 'http-api'] as const;
