import http from 'node:http';
import { ClientError } from './errors';
import { gatewayPort, pickGateway } from './gateway';

describe('pickGateway', () => {
  let server: http.Server;
  let body = '';
  let status = 200;
  let paths: string[] = [];
  let url = '';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status, { 'Content-Type': 'text/html;charset=utf-8', Connection: 'close' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    url = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    status = 200;
    paths = [];
  });

  async function codeOf(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (err) {
      if (err instanceof ClientError) return err.code;
      throw err;
    }
    return 'resolved';
  }

  it('parses TeamTalk JSON (port as a string) from GET /msg_server', async () => {
    body = JSON.stringify({ code: 0, msg: '', priorIP: '10.0.0.1', backupIP: '10.0.0.2', port: '8000', msfsPrior: 'http://x/' });
    const g = await pickGateway(url + '/');
    expect(paths).toEqual(['/msg_server']);
    expect(g).toEqual({ host: '10.0.0.1', port: 8000, raw: expect.objectContaining({ msfsPrior: 'http://x/' }) });
  });

  it('maps code 1 and 2 to NO_MSG_SERVER and MSG_SERVER_FULL with the message', async () => {
    body = JSON.stringify({ code: 1, msg: '没有msg_server' });
    const err = await pickGateway(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err).toMatchObject({ code: 'NO_MSG_SERVER', resultCode: 1, message: '没有msg_server' });
    body = JSON.stringify({ code: 2, msg: 'full' });
    expect(await codeOf(pickGateway(url))).toBe('MSG_SERVER_FULL');
  });

  it('rejects non-JSON, bad ports and HTTP errors as BAD_LOGIN_SERVER_RESPONSE', async () => {
    body = '<html>';
    expect(await codeOf(pickGateway(url))).toBe('BAD_LOGIN_SERVER_RESPONSE');
    body = JSON.stringify({ code: 0, msg: '', priorIP: '10.0.0.1', port: 'x' });
    expect(await codeOf(pickGateway(url))).toBe('BAD_LOGIN_SERVER_RESPONSE');
    status = 500;
    body = '{}';
    expect(await codeOf(pickGateway(url))).toBe('BAD_LOGIN_SERVER_RESPONSE');
  });

  it('reports an unreachable login server as CONNECT_FAILED', async () => {
    expect(await codeOf(pickGateway('http://127.0.0.1:1', { timeoutMs: 2000 }))).toBe('CONNECT_FAILED');
  });

  it('reads tlsPort, and a TLS-only gateway (port 0) only through it', async () => {
    body = JSON.stringify({ code: 0, msg: '', priorIP: '10.0.0.1', backupIP: '10.0.0.2', port: '8000', tlsPort: '8443' });
    const both = await pickGateway(url);
    expect(both).toMatchObject({ port: 8000, tlsPort: 8443 });
    expect(gatewayPort(both, true)).toBe(8443);
    expect(gatewayPort(both, false)).toBe(8000);

    body = JSON.stringify({ code: 0, msg: '', priorIP: '10.0.0.1', port: '0', tlsPort: '8443' });
    const tlsOnly = await pickGateway(url);
    expect(() => gatewayPort(tlsOnly, false)).toThrow(ClientError);

    body = JSON.stringify({ code: 0, msg: '', priorIP: '10.0.0.1', port: '8000' });
    const plainOnly = await pickGateway(url);
    expect(() => gatewayPort(plainOnly, true)).toThrow(/no TLS port/);
    body = JSON.stringify({ code: 0, msg: '', priorIP: '10.0.0.1', port: '0' });
    expect(await codeOf(pickGateway(url))).toBe('BAD_LOGIN_SERVER_RESPONSE');
    body = JSON.stringify({ code: 0, msg: '', priorIP: '10.0.0.1', port: '8000', tlsPort: 'x' });
    expect(await codeOf(pickGateway(url))).toBe('BAD_LOGIN_SERVER_RESPONSE');
  });
});
