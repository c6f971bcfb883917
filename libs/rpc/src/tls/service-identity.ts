import type { PeerCertificate } from 'node:tls';

/** Trust domain of the URI SAN every tier certificate carries: spiffe://tiertalk/<service>. */
export const TRUST_DOMAIN = 'tiertalk';

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const SPIFFE_PREFIX = `URI:spiffe://${TRUST_DOMAIN}/`;

/**
 * The service a certificate names: its URI SAN spiffe://tiertalk/<name> when
 * it has one (that is what an operator's CA should issue), else its subject CN.
 * undefined when neither is a plain service name.
 */
export function serviceNameOf(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'> | undefined): string | undefined {
  if (!cert) return undefined;
  const sans = (cert.subjectaltname ?? '').split(', ');
  const uri = sans.find((s) => s.startsWith(SPIFFE_PREFIX));
  if (uri !== undefined) {
    const name = uri.slice(SPIFFE_PREFIX.length);
    return NAME.test(name) ? name : undefined;
  }
  // A certificate from another SPIFFE trust domain is never read by its CN.
  if (sans.some((s) => s.startsWith('URI:spiffe://'))) return undefined;
  const cn: unknown = cert.subject?.CN;
  return typeof cn === 'string' && NAME.test(cn) ? cn : undefined;
}

/**
 * tls.connect's checkServerIdentity for a client of `service`: the server's
 * certificate (already verified against the cluster CA) must name that
 * service. Host names are not compared: instances are found by address in
 * etcd, and what matters is that whoever answers holds a `service` key, so a
 * forged etcd registration cannot receive another service's calls.
 */
export function expectServiceIdentity(service: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const name = serviceNameOf(cert);
    if (name === service) return undefined;
    const err = new Error(`server certificate names ${name === undefined ? 'no service' : `"${name}"`}, expected "${service}"`);
    return Object.assign(err, { code: 'ERR_TLS_SERVICE_IDENTITY' });
  };
}
