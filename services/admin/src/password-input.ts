// Where the CLI gets a password: a file, stdin, or a prompt that does not
// echo. Never argv (cli-args.ts refuses --password): it shows in `ps` and
// shell history.
import { readFile } from 'node:fs/promises';
import { UsageError } from './cli-args';
import { MAX_PASSWORD_CHARS } from './user-ops';

const MAX_READ_BYTES = 4096;

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0] ?? '';
}

async function fromStream(stream: NodeJS.ReadableStream): Promise<string> {
  let data = '';
  for await (const chunk of stream) {
    data += String(chunk);
    if (data.includes('\n') || data.length > MAX_READ_BYTES) break;
  }
  return firstLine(data);
}

/** Reads a line from a terminal without echoing it (raw mode; Ctrl-C aborts). */
function prompt(input: NodeJS.ReadStream, output: NodeJS.WriteStream, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(question);
    let typed = '';
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const done = (err?: Error): void => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new UsageError('password prompt interrupted'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    input.on('data', onData);
  });
}

/** The password for `user create` / `user set-password`; UsageError when none was given. */
export async function readPassword(file: string | undefined, io: { stdin: NodeJS.ReadStream; stderr: NodeJS.WriteStream }): Promise<string> {
  let password: string;
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`--password-file ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    password = firstLine(text);
  } else if (io.stdin.isTTY) {
    password = await prompt(io.stdin, io.stderr, 'new password: ');
    const again = await prompt(io.stdin, io.stderr, 'again: ');
    if (again !== password) throw new UsageError('the two passwords differ');
  } else {
    password = await fromStream(io.stdin);
  }
  if (password === '') throw new UsageError('no password given (--password-file, stdin or the prompt)');
  if ([...password].length > MAX_PASSWORD_CHARS) throw new UsageError(`the password is longer than ${MAX_PASSWORD_CHARS} characters`);
  return password;
}
