import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDevPki } from '@tiertalk/tls';

describe('createDevPki', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tt-pki-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('issues CA-signed certificates that name their service and cover localhost', () => {
    const pki = createDevPki(dir, ['route', 'admin']);
    const ca = new X509Certificate(readFileSync(pki.caCert));
    const route = new X509Certificate(readFileSync(pki.certFor('route').cert));
    expect(route.verify(ca.publicKey)).toBe(true);
    expect(route.subject).toContain('CN=route');
    expect(route.subjectAltName).toContain('URI:spiffe://tiertalk/route');
    expect(route.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(route.checkHost('localhost')).toBe('localhost');
    expect(readFileSync(pki.certFor('admin').key, 'utf8')).toContain('BEGIN PRIVATE KEY');
  });

  it('keeps an existing CA when called again', () => {
    const before = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    createDevPki(dir, ['msg']);
    expect(readFileSync(path.join(dir, 'ca.crt'), 'utf8')).toBe(before);
  });
});
