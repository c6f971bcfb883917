// Command line of the terminal chat client (node:util parseArgs); every
// problem is reported at once. The environment is passed in, not read here.
import { parseArgs } from 'node:util';
import { TEAMTALK_DEFAULT_AES_KEY } from '@tiertalk/proto';

export interface ChatOptions {
  loginUrl: string;
  /** Connect here directly instead of asking the login service. */
  gateway: { host: string; port: number } | undefined;
  user: string;
  /** From --password or TT_PASSWORD; undefined = ask. */
  password: string | undefined;
  /** Key for TeamTalk's content encryption (TT_AES_KEY). */
  aesKey: string;
  /** Encrypt sent text like TeamTalk clients do. */
  encrypt: boolean;
  /** History page size of /open and /more. */
  pageSize: number;
  /**
   * TLS to the gateway (its TLS port from /msg_server, or --gateway's port) with
   * certificate verification; undefined = plain TCP. caFile/servername also apply
   * to an https:// login URL.
   */
  tls: { caFile?: string; servername?: string } | undefined;
}

export class ChatUsageError extends Error {
  override readonly name = 'ChatUsageError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export const CHAT_USAGE = `usage: npm run chat -- --user NAME [options]
       node libs/client/dist/chat-cli.js --user NAME [options]

  --user NAME          login name (demo users: alice, bob, carol, dave)
  --password PW        password (default: $TT_PASSWORD, else asked; the demo password is tiertalk)
  --login-url URL      login service (default http://127.0.0.1:8080); asks GET /msg_server for a gateway
  --gateway HOST:PORT  connect to this msg gateway instead of asking the login service
  --tls                connect to the gateway's TLS port (tlsPort from /msg_server) and verify its certificate
  --ca FILE            trust the CA certificates in FILE (e.g. .run/tls/ca.crt of make up) instead of the
                       system's; implies --tls and also checks an https:// --login-url
  --servername NAME    the name the server certificate must carry (default: the host connected to)
  --encrypt            send text encrypted like TeamTalk clients (AES key: $TT_AES_KEY or TeamTalk's default)
  --page N             messages per history page (default 20)
  --help

Commands once logged in: /list /open <user> /more /who /help /quit; other lines are sent.
Exit code: 0 after /quit or end of input, 1 when the connection is lost or taken over, 2 on a usage or login error.
`;

export function parseChatOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ChatOptions | { help: true } {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        user: { type: 'string' },
        password: { type: 'string' },
        'login-url': { type: 'string', default: 'http://127.0.0.1:8080' },
        gateway: { type: 'string' },
        tls: { type: 'boolean', default: false },
        ca: { type: 'string' },
        servername: { type: 'string' },
        encrypt: { type: 'boolean', default: false },
        page: { type: 'string', default: '20' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    throw new ChatUsageError([err instanceof Error ? err.message : String(err)]);
  }
  if (values.help) return { help: true };

  const problems: string[] = [];
  const user = values.user?.trim() ?? '';
  if (user === '') problems.push('--user: required');

  let gateway: ChatOptions['gateway'];
  if (values.gateway !== undefined) {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(values.gateway.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m || !Number.isInteger(port) || port < 1 || port > 0xffff) problems.push(`--gateway: expected host:port, got ${JSON.stringify(values.gateway)}`);
    else gateway = { host: m[1], port };
  }

  const loginUrl = values['login-url'];
  if (!/^https?:\/\/[^\s/]+/.test(loginUrl)) problems.push(`--login-url: expected an http:// URL, got ${JSON.stringify(loginUrl)}`);

  const pageSize = Number(values.page);
  if (!/^\d+$/.test(values.page) || pageSize < 1 || pageSize > 100) problems.push(`--page: expected an integer in 1..100, got ${JSON.stringify(values.page)}`);

  const aesKey = env.TT_AES_KEY ?? TEAMTALK_DEFAULT_AES_KEY;
  if (Buffer.byteLength(aesKey, 'latin1') !== 32 || !/^[\x20-\x7e]*$/.test(aesKey)) problems.push('TT_AES_KEY: expected 32 ASCII characters (an AES-256 key)');

  if (values.ca !== undefined && values.ca.trim() === '') problems.push('--ca: expected a file name');
  if (values.servername !== undefined && values.servername.trim() === '') problems.push('--servername: expected a host name');
  const tls =
    values.tls || values.ca !== undefined || values.servername !== undefined
      ? { ...(values.ca !== undefined ? { caFile: values.ca } : {}), ...(values.servername !== undefined ? { servername: values.servername } : {}) }
      : undefined;

  if (problems.length > 0) throw new ChatUsageError(problems);
  return {
    loginUrl,
    gateway,
    user,
    password: values.password ?? env.TT_PASSWORD,
    aesKey,
    encrypt: values.encrypt,
    pageSize,
    tls,
  };
}
