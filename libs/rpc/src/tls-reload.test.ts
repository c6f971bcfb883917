// Certificate rotation: new connections get the new certificate while a
// stream opened before the reload keeps flowing (real gRPC over TLS, in-process).
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { createDevPki, type DevPki } from '@tiertalk/tls';
import { CertificateFiles, accessPolicy, bindServer, createClient, createServer, mutualTls, openBidi, reloadTlsOnSighup, unaryCall, type MutualTls } from './index';

interface Num {
  n: number;
}
const codec = {
  ser: (v: Num): Buffer => Buffer.from(JSON.stringify(v)),
  de: (b: Buffer): Num => JSON.parse(b.toString('utf8')) as Num,
};
const Echo = {
  Chat: { path: '/tiertalk.test.Echo/Chat', requestStream: true, responseStream: true, requestSerialize: codec.ser, requestDeserialize: codec.de, responseSerialize: codec.ser, responseDeserialize: codec.de },
  Once: { path: '/tiertalk.test.Echo/Once', requestStream: false, responseStream: false, requestSerialize: codec.ser, requestDeserialize: codec.de, responseSerialize: codec.ser, responseDeserialize: codec.de },
} satisfies grpc.ServiceDefinition;
const echoAccess = accessPolicy('Echo', Echo, { Chat: ['msg'], Once: ['msg'] });

let dir: string;
let pki: DevPki;
/** The files the server reads (copies of the PKI's db-proxy certificate, replaced to rotate). */
let live: { ca: string; cert: string; key: string };
let server: grpc.Server;
let serverTls: MutualTls;
let port: number;
const reloads: boolean[] = [];

function fingerprintOf(file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint256;
}

/** Issues a new db-proxy certificate from the same CA (createDevPki reissues a missing one). */
function reissue(): { cert: string; key: string } {
  rmSync(path.join(pki.dir, 'db-proxy.crt'));
  rmSync(path.join(pki.dir, 'db-proxy.key'));
  createDevPki(pki.dir, ['db-proxy']);
  return pki.certFor('db-proxy');
}

/** Replaces a live file the way a deploy tool does: write aside, rename over. */
function replace(from: string, to: string): void {
  copyFileSync(from, `${to}.tmp`);
  renameSync(`${to}.tmp`, to);
}

/** Connects a fresh client and resolves with the fingerprint of the certificate the server presented. */
async function presentedFingerprint(): Promise<string> {
  const seen: string[] = [];
  const clientTls = mutualTls({ ca: pki.caCert, ...pki.certFor('msg') }, { pollIntervalMs: 0 });
  const creds = grpc.experimental.createCertificateProviderChannelCredentials(clientTls.files, clientTls.files, {
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      seen.push(cert.fingerprint256);
      return undefined;
    },
  });
  const client = new grpc.Client(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'db-proxy' });
  try {
    await unaryCall(client, Echo.Once, { n: 1 }, { deadlineMs: 5000 });
  } finally {
    client.close();
    clientTls.files.close();
  }
  return seen[0];
}

function waitForReload(): Promise<void> {
  const before = reloads.length;
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (reloads.length > before) {
        clearInterval(t);
        resolve();
      }
    }, 20);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tt-tls-reload-'));
  pki = createDevPki(path.join(dir, 'pki'), ['db-proxy', 'msg']);
  live = { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') };
  copyFileSync(pki.caCert, live.ca);
  copyFileSync(pki.certFor('db-proxy').cert, live.cert);
  copyFileSync(pki.certFor('db-proxy').key, live.key);
  serverTls = mutualTls(live, { pollIntervalMs: 50, onReload: (r) => reloads.push(r.ok) });
  server = createServer({ security: serverTls, access: [echoAccess], refusals: { refuse: () => undefined } });
  server.addService(Echo, {
    Chat: (call: grpc.ServerDuplexStream<Num, Num>) => {
      call.on('data', (m: Num) => call.write({ n: m.n * 10 }));
      call.on('end', () => call.end());
    },
    Once: (call: grpc.ServerUnaryCall<Num, Num>, cb: grpc.sendUnaryData<Num>) => cb(null, { n: call.request.n }),
  });
  port = await bindServer(server, '127.0.0.1', 0);
});

afterAll(async () => {
  await new Promise<void>((r) => server.tryShutdown(() => r()));
  serverTls.files.close();
  rmSync(dir, { recursive: true, force: true });
});

it('keeps an open stream across reloads while new connections get the new certificate', async () => {
  const clientTls = mutualTls({ ca: pki.caCert, ...pki.certFor('msg') }, { pollIntervalMs: 0 });
  const client = createClient(`127.0.0.1:${port}`, clientTls, 'db-proxy');
  const stream = openBidi(client, Echo.Chat);
  const answers: number[] = [];
  let streamError: unknown;
  stream.on('data', (m: Num) => answers.push(m.n));
  stream.on('error', (err: unknown) => (streamError = err));
  const answered = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setInterval(() => {
        if (answers.length >= n) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    });

  stream.write({ n: 1 });
  await answered(1);
  const first = fingerprintOf(live.cert);
  expect(await presentedFingerprint()).toBe(first);

  // Rotation by file change (watched).
  const second = reissue();
  const reloaded = waitForReload();
  replace(second.key, live.key);
  replace(second.cert, live.cert);
  await reloaded;
  // The key and certificate may land in two polls: wait until the pair is in use.
  while (fingerprintOf(live.cert) !== (await presentedFingerprint())) await waitForReload();
  expect(await presentedFingerprint()).toBe(fingerprintOf(second.cert));
  expect(fingerprintOf(second.cert)).not.toBe(first);

  stream.write({ n: 2 });
  await answered(2);

  // A second rotation, on the same stream.
  const third = reissue();
  const again = waitForReload();
  replace(third.key, live.key);
  replace(third.cert, live.cert);
  await again;
  while (fingerprintOf(live.cert) !== (await presentedFingerprint())) await waitForReload();

  stream.write({ n: 3 });
  await answered(3);
  expect(answers).toEqual([10, 20, 30]);
  expect(streamError).toBeUndefined();
  stream.end();
  client.close();
  clientTls.files.close();
});

it('reloads on SIGHUP', async () => {
  // Files of its own (the server's are watched) and no polling: only the signal brings the new certificate in.
  const hup = { ca: path.join(dir, 'hup-ca.crt'), cert: path.join(dir, 'hup.crt'), key: path.join(dir, 'hup.key') };
  copyFileSync(live.ca, hup.ca);
  copyFileSync(live.cert, hup.cert);
  copyFileSync(live.key, hup.key);
  const files = new CertificateFiles(hup, { pollIntervalMs: 0 });
  const seen: string[] = [];
  files.addIdentityCertificateListener((u) => {
    if (u) seen.push(new X509Certificate(u.certificate).fingerprint256);
  });
  const stopHup = reloadTlsOnSighup({ kind: 'mtls', files });
  try {
    const next = reissue();
    writeFileSync(hup.key, readFileSync(next.key));
    writeFileSync(hup.cert, readFileSync(next.cert));
    // jest's sandboxed process cannot take a real signal; emit is what delivery does.
    process.emit('SIGHUP', 'SIGHUP');
    // The reload runs inside the signal handler: listeners have the new certificate when emit returns.
    expect(seen[seen.length - 1]).toBe(fingerprintOf(next.cert));
  } finally {
    stopHup();
    files.close();
  }
});

it('keeps the previous certificate when the new files do not form a usable pair', async () => {
  const before = await presentedFingerprint();
  const reloaded = waitForReload();
  // A key that belongs to another certificate: a half-done rotation.
  writeFileSync(live.key, readFileSync(pki.certFor('msg').key));
  expect(serverTls.files.reload()).toBe(false);
  await reloaded;
  expect(reloads[reloads.length - 1]).toBe(false);
  expect(await presentedFingerprint()).toBe(before);
});
