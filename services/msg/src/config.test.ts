import { ConfigError } from '@tiertalk/config';
import { loadMsgConfig } from './config';

function issueKeys(env: NodeJS.ProcessEnv): string[] {
  try {
    loadMsgConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => i.key).sort();
    throw err;
  }
  return [];
}

describe('msg config: TLS to clients', () => {
  it('serves plain TCP only by default', () => {
    const c = loadMsgConfig({});
    expect(c).toMatchObject({ plainTcp: true, tcpPort: 8000, tlsTcpPort: undefined, clientTls: undefined });
  });

  it('reads the TLS port, the certificate and its settings', () => {
    const c = loadMsgConfig({ TT_TLS_TCP_PORT: '8443', TT_CLIENT_TLS_CERT: '/etc/tt/msg.crt', TT_CLIENT_TLS_KEY: '/etc/tt/msg.key', TT_PLAIN_TCP: 'false', TT_WS_TLS: 'false' });
    expect(c).toMatchObject({ plainTcp: false, tlsTcpPort: 8443 });
    expect(c.clientTls).toEqual({ certFile: '/etc/tt/msg.crt', keyFile: '/etc/tt/msg.key', ws: false, handshakeTimeoutMs: 10_000, pollMs: 5_000 });
  });

  it('a certificate alone turns wss on, without a TLS TCP port', () => {
    const c = loadMsgConfig({ TT_CLIENT_TLS_CERT: 'a.crt', TT_CLIENT_TLS_KEY: 'a.key' });
    expect(c.tlsTcpPort).toBeUndefined();
    expect(c.clientTls?.ws).toBe(true);
  });

  it('refuses half a key pair, a TLS port without a certificate and no TeamTalk listener at all', () => {
    expect(issueKeys({ TT_CLIENT_TLS_CERT: 'a.crt' })).toEqual(['TT_CLIENT_TLS_KEY']);
    expect(issueKeys({ TT_TLS_TCP_PORT: '8443' })).toEqual(['TT_TLS_TCP_PORT']);
    expect(issueKeys({ TT_PLAIN_TCP: 'false' })).toEqual(['TT_PLAIN_TCP']);
    expect(issueKeys({ TT_TLS_TCP_PORT: 'x' })).toEqual(['TT_TLS_TCP_PORT']);
  });
});
