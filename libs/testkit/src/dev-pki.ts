// The development PKI every testkit cluster uses: one per test process, in a
// temp dir removed when the process exits, so clusters run the secure setup
// (mutual TLS between tiers) by default.
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDevPki, DEV_PKI_NAMES, type DevPki } from '@tiertalk/tls';

let shared: DevPki | undefined;

/** The process's shared test PKI (CA, db-proxy, route, msg, login, admin), made on first use. */
export function testPki(): DevPki {
  if (!shared) {
    // One per test process (jest reloads this module for every test file): createDevPki keeps what exists.
    const dir = path.join(os.tmpdir(), `tt-test-pki-${process.pid}`);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    shared = createDevPki(dir, DEV_PKI_NAMES);
  }
  return shared;
}

/** The TT_TLS_* env of a process holding `name`'s certificate. */
export function tlsEnv(pki: DevPki, name: string): Record<string, string> {
  const { cert, key } = pki.certFor(name);
  return { TT_TLS_CA: pki.caCert, TT_TLS_CERT: cert, TT_TLS_KEY: key };
}
