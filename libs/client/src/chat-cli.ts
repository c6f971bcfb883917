#!/usr/bin/env node
// The terminal chat client (`npm run chat -- --user alice`): log in through the
// login service, then ChatApp (chat-app.ts) over node:readline. Works in a
// plain terminal and with piped stdin/stdout (one command or message a line).
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { ChatApp } from './chat-app';
import { CHAT_USAGE, ChatUsageError, parseChatOptions, type ChatOptions } from './chat-options';
import { TeamTalkClient } from './node-client';
import { isClientError } from './errors';
import { gatewayPort, pickGateway } from './gateway';

const EXIT_OK = 0;
const EXIT_LOST = 1;
const EXIT_SETUP = 2;
/** Last resort when something still holds the event loop after the end. */
const EXIT_GRACE_MS = 2000;

const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;

/** stdout, with echo switched off while a password is typed. */
class Terminal extends Writable {
  muted = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (!this.muted) process.stdout.write(chunk);
    done();
  }
}

function warn(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Lines of stdin, one at a time: a password first, then commands. */
class LineSource {
  private readonly buffered: string[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;
  private ended = false;
  onLine: ((line: string) => void) | undefined;
  onEnd: (() => void) | undefined;

  constructor(rl: readline.Interface) {
    rl.on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      } else if (this.onLine) this.onLine(line);
      else this.buffered.push(line);
    });
    rl.on('close', () => {
      this.ended = true;
      this.waiting?.(undefined);
      this.waiting = undefined;
      this.onEnd?.();
    });
  }

  next(): Promise<string | undefined> {
    const line = this.buffered.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Hands the lines read ahead and every later one to `onLine`. */
  follow(onLine: (line: string) => void, onEnd: () => void): void {
    this.onLine = onLine;
    this.onEnd = onEnd;
    for (const line of this.buffered.splice(0)) onLine(line);
    if (this.ended) onEnd();
  }
}

async function askPassword(rl: readline.Interface, term: Terminal, lines: LineSource, user: string): Promise<string | undefined> {
  if (!tty) return lines.next();
  process.stdout.write(`password for ${user}: `);
  term.muted = true;
  const pw = await lines.next();
  term.muted = false;
  process.stdout.write('\n');
  return pw;
}

async function connect(opts: ChatOptions): Promise<TeamTalkClient> {
  if (opts.gateway) return TeamTalkClient.connect({ ...opts.gateway, tls: opts.tls });
  const choice = await pickGateway(opts.loginUrl, { tls: opts.tls });
  return TeamTalkClient.connect({ host: choice.host, port: gatewayPort(choice, opts.tls !== undefined), tls: opts.tls });
}

async function main(argv: string[]): Promise<number> {
  let opts: ChatOptions;
  try {
    const parsed = parseChatOptions(argv, process.env);
    if ('help' in parsed) {
      process.stdout.write(CHAT_USAGE);
      return EXIT_OK;
    }
    opts = parsed;
  } catch (err) {
    if (!(err instanceof ChatUsageError)) throw err;
    warn(err.problems.join('\n'));
    warn(CHAT_USAGE);
    return EXIT_SETUP;
  }

  const term = new Terminal();
  const rl = readline.createInterface({ input: process.stdin, output: term, terminal: tty });
  const lines = new LineSource(rl);
  // Output from the server arrives while the user types: clear the input line,
  // print, and redraw the prompt with what was typed so far.
  const print = (text: string): void => {
    if (tty) {
      readline.clearLine(process.stdout, 0);
      readline.cursorTo(process.stdout, 0);
    }
    process.stdout.write(`${text}\n`);
    if (tty) rl.prompt(true);
  };
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') warn(`stdout: ${err.message}`);
  });

  // Ctrl-C before the chat starts ends the input: no password, or a quit right after login.
  const earlyInterrupt = (): void => rl.close();
  rl.on('SIGINT', earlyInterrupt);
  const password = opts.password ?? (await askPassword(rl, term, lines, opts.user));
  if (password === undefined) {
    warn('no password (use --password, TT_PASSWORD or type it)');
    rl.close();
    return EXIT_SETUP;
  }

  let client: TeamTalkClient;
  try {
    client = await connect(opts);
  } catch (err) {
    warn(`cannot reach the server: ${err instanceof Error ? err.message : String(err)}`);
    rl.close();
    return EXIT_SETUP;
  }
  try {
    await client.login(opts.user, password);
  } catch (err) {
    client.close();
    rl.close();
    warn(isClientError(err, 'LOGIN_REFUSED') ? `login refused for ${opts.user} (result ${err.resultCode ?? '?'}): wrong name or password?` : `login failed: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT_SETUP;
  }

  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      rl.close();
      resolve(code);
    };
    const app = new ChatApp(client, {
      aesKey: opts.aesKey,
      encrypt: opts.encrypt,
      pageSize: opts.pageSize,
      print,
      onEnd: (code) => finish(code),
    });
    let quitting: Promise<void> | undefined;
    const quit = (): void => {
      if (finished) return;
      quitting ??= app.quit().then(() => finish(EXIT_OK));
    };
    const me = client.userInfo?.userRealName || opts.user;
    const updatePrompt = (): void => {
      if (!tty) return;
      const peer = app.openPeerName;
      rl.setPrompt(peer === undefined ? `${me}> ` : `${me} → ${peer}> `);
    };
    updatePrompt();
    print(`Logged in as ${me} at ${client.host}:${client.port}${client.secure ? ' (TLS, certificate verified)' : ''}.`);
    void app.start().then(() => {
      if (tty) rl.prompt();
      lines.follow(
        (line) => {
          // In a terminal the typed message is replaced by its sent form (with time).
          if (tty && line.trim() !== '' && !line.trim().startsWith('/')) process.stdout.write('\x1b[1A\x1b[2K');
          void app.handleLine(line).then((result) => {
            if (result === 'quit') quit();
            else updatePrompt();
          });
        },
        // End of input (Ctrl-D, or the end of a pipe): leave like /quit, after the queued lines.
        quit,
      );
    });
    rl.off('SIGINT', earlyInterrupt);
    rl.on('SIGINT', quit);
    process.once('SIGTERM', quit);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  },
  (err: unknown) => {
    warn(`chat: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(EXIT_LOST);
  },
);
