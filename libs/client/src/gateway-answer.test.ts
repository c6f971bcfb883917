import { gatewayWebSocketUrl } from './browser';
import { isClientError } from './errors';
import { parseMsgServerAnswer } from './gateway-answer';

const URL = 'http://login.example/msg_server';
const answer = (extra: Record<string, unknown>): string =>
  JSON.stringify({ code: 0, msg: '', priorIP: '10.0.0.1', backupIP: '10.0.0.2', port: '8000', msfsPrior: 'http://f/', msfsBackup: 'http://f/', discovery: '', ...extra });

describe('the web client part of /msg_server', () => {
  it('reads wsPort and wss, and builds the WebSocket URL from them', () => {
    const plain = parseMsgServerAnswer(URL, answer({ wsPort: '8400' }));
    expect(plain).toMatchObject({ host: '10.0.0.1', port: 8000, wsPort: 8400 });
    expect(plain).not.toHaveProperty('wss');
    expect(gatewayWebSocketUrl(plain, false)).toBe('ws://10.0.0.1:8400/');
    const secure = parseMsgServerAnswer(URL, answer({ wsPort: '8400', wss: '1', priorIP: '::1' }));
    expect(secure).toMatchObject({ wsPort: 8400, wss: true });
    expect(gatewayWebSocketUrl(secure, true)).toBe('wss://[::1]:8400/');
  });

  it('refuses a bad wsPort, a gateway without one, and ws:// from an https page', () => {
    expect(() => parseMsgServerAnswer(URL, answer({ wsPort: '70000' }))).toThrow(/bad wsPort "70000"/);
    const noWs = parseMsgServerAnswer(URL, answer({}));
    expect(() => gatewayWebSocketUrl(noWs, false)).toThrow(/no wsPort/);
    try {
      gatewayWebSocketUrl(parseMsgServerAnswer(URL, answer({ wsPort: 8400 })), true);
      throw new Error('expected a refusal');
    } catch (err) {
      expect(isClientError(err, 'CONNECT_FAILED')).toBe(true);
      expect((err as Error).message).toMatch(/offers ws:\/\/ only/);
    }
  });
});
