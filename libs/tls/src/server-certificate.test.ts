import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createDevPki, ServerCertificate } from '@tiertalk/tls';

/** Collects log lines; resolves waiters when a matching one arrives. */
class Log {
  readonly lines: Array<{ level: string; msg: string }> = [];
  private waiters: Array<{ msg: string; resolve: () => void }> = [];
  info = (_obj: object, msg: string): void => this.add('info', msg);
  warn = (_obj: object, msg: string): void => this.add('warn', msg);
  next(msg: string): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ msg, resolve }));
  }
  private add(level: string, msg: string): void {
    this.lines.push({ level, msg });
    for (const w of this.waiters.filter((x) => x.msg === msg)) w.resolve();
    this.waiters = this.waiters.filter((x) => x.msg !== msg);
  }
}

function served(port: number, ca: Buffer): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca }, () => {
      const cert = s.getPeerX509Certificate();
      s.destroy();
      if (cert) resolve(cert);
      else reject(new Error('no certificate'));
    });
    s.once('error', reject);
  });
}

describe('ServerCertificate', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tt-servercert-'));
  const a = createDevPki(path.join(root, 'a'), ['msg']);
  const b = createDevPki(path.join(root, 'b'), ['msg']);
  const live = { cert: path.join(root, 'live.crt'), key: path.join(root, 'live.key') };
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeEach(() => {
    copyFileSync(a.certFor('msg').cert, live.cert);
    copyFileSync(a.certFor('msg').key, live.key);
  });

  it('refuses to start on a key that does not match the certificate', () => {
    copyFileSync(b.certFor('msg').key, live.key);
    expect(() => new ServerCertificate(live, { logger: new Log(), pollMs: 0, sighup: false })).toThrow();
  });

  it('sets TLS 1.2 as the floor', () => {
    const cert = new ServerCertificate(live, { logger: new Log(), pollMs: 0, sighup: false });
    expect(cert.serverOptions().minVersion).toBe('TLSv1.2');
    cert.close();
  });

  it('follows a file change; keeps the old pair while the new one is half written', async () => {
    const log = new Log();
    const cert = new ServerCertificate(live, { logger: log, pollMs: 50, sighup: false });
    const server = tls.createServer(cert.serverOptions(), (s) => s.end());
    cert.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const caA = readFileSync(a.caCert);
      const caB = readFileSync(b.caCert);
      expect((await served(port, caA)).verify(new X509Certificate(caA).publicKey)).toBe(true);

      // The new certificate without its key: refused, the old pair still served.
      const refused = log.next('client TLS certificate not reloaded; keeping the current one');
      copyFileSync(b.certFor('msg').cert, live.cert);
      await refused;
      await expect(served(port, caA)).resolves.toBeDefined();

      const reloaded = log.next('client TLS certificate reloaded');
      writeFileSync(live.key, readFileSync(b.certFor('msg').key));
      await reloaded;
      expect((await served(port, caB)).verify(new X509Certificate(caB).publicKey)).toBe(true);
      await expect(served(port, caA)).rejects.toThrow();
    } finally {
      cert.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
