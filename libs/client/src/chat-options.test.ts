import { ChatUsageError, parseChatOptions } from './chat-options';
import { TEAMTALK_DEFAULT_AES_KEY } from '@tiertalk/proto';

function problems(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    parseChatOptions(argv, env);
  } catch (err) {
    if (err instanceof ChatUsageError) return err.problems;
    throw err;
  }
  return [];
}

describe('chat options', () => {
  it('has the documented defaults', () => {
    expect(parseChatOptions(['--user', 'alice'], {})).toEqual({
      loginUrl: 'http://127.0.0.1:8080',
      gateway: undefined,
      user: 'alice',
      password: undefined,
      aesKey: TEAMTALK_DEFAULT_AES_KEY,
      encrypt: false,
      pageSize: 20,
      tls: undefined,
    });
  });

  it('turns TLS on with --tls, --ca or --servername', () => {
    expect(parseChatOptions(['--user', 'a', '--tls'], {})).toMatchObject({ tls: {} });
    expect(parseChatOptions(['--user', 'a', '--ca', '.run/tls/ca.crt'], {})).toMatchObject({ tls: { caFile: '.run/tls/ca.crt' } });
    expect(parseChatOptions(['--user', 'a', '--tls', '--servername', 'chat.example'], {})).toMatchObject({ tls: { servername: 'chat.example' } });
    expect(problems(['--user', 'a', '--ca', ' '])).toEqual(['--ca: expected a file name']);
  });

  it('takes the password from --password, else TT_PASSWORD', () => {
    expect(parseChatOptions(['--user', 'a', '--password', 'x'], { TT_PASSWORD: 'y' })).toMatchObject({ password: 'x' });
    expect(parseChatOptions(['--user', 'a'], { TT_PASSWORD: 'y' })).toMatchObject({ password: 'y' });
  });

  it('parses --gateway, --login-url, --page, --encrypt and TT_AES_KEY', () => {
    const key = 'abcdefghijklmnopqrstuvwxyz012345';
    expect(
      parseChatOptions(['--user', 'a', '--gateway', '10.0.0.1:8001', '--login-url', 'http://h:9', '--page', '50', '--encrypt'], { TT_AES_KEY: key }),
    ).toMatchObject({ gateway: { host: '10.0.0.1', port: 8001 }, loginUrl: 'http://h:9', pageSize: 50, encrypt: true, aesKey: key });
    expect(parseChatOptions(['--user', 'a', '--gateway', '[::1]:8000'], {})).toMatchObject({ gateway: { host: '::1', port: 8000 } });
  });

  it('reports every problem at once', () => {
    expect(problems(['--gateway', 'nope', '--page', '0', '--login-url', 'ftp://x'], { TT_AES_KEY: 'short' })).toEqual([
      '--user: required',
      '--gateway: expected host:port, got "nope"',
      '--login-url: expected an http:// URL, got "ftp://x"',
      '--page: expected an integer in 1..100, got "0"',
      'TT_AES_KEY: expected 32 ASCII characters (an AES-256 key)',
    ]);
    expect(problems(['--user', 'a', '--bogus'])[0]).toMatch(/bogus/);
    expect(problems(['--user', 'a', 'extra'])[0]).toMatch(/extra|positional/i);
  });

  it('answers --help', () => {
    expect(parseChatOptions(['--help'], {})).toEqual({ help: true });
  });
});
