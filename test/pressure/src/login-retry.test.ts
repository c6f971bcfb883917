// The pressure tool asks /msg_server again when it answers "no msg server", as a real client does.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pickGatewayRetrying } from './run';

async function loginServer(answers: object[]): Promise<{ url: string; asked: () => number; close: () => Promise<void> }> {
  let asked = 0;
  const server = http.createServer((_req, res) => {
    const body = answers[Math.min(asked, answers.length - 1)];
    asked += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, asked: () => asked, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const NONE = { code: 1, msg: '没有msg_server' };
const ONE = { code: 0, msg: '', priorIP: '127.0.0.1', backupIP: '127.0.0.1', port: '8000' };

it('asks /msg_server again after "no msg server" and takes the gateway it then names', async () => {
  const s = await loginServer([NONE, NONE, ONE]);
  try {
    const g = await pickGatewayRetrying(s.url, new AbortController().signal);
    expect([g.host, g.port]).toEqual(['127.0.0.1', 8000]);
    expect(s.asked()).toBe(3);
  } finally {
    await s.close();
  }
});

it('gives up once stopped', async () => {
  const s = await loginServer([NONE]);
  const stop = new AbortController();
  stop.abort();
  try {
    await expect(pickGatewayRetrying(s.url, stop.signal)).rejects.toMatchObject({ code: 'NO_MSG_SERVER' });
    expect(s.asked()).toBe(1);
  } finally {
    await s.close();
  }
});
