// The terminal chat client (libs/client/dist/chat-cli.js) as a person trying
// the cluster uses it: a real process with piped stdin/stdout, logging in
// through the login service, against a real cluster; the other side is the SDK.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TeamTalkClient, encryptContent } from '@tiertalk/client';
import { IM } from '@tiertalk/proto';
import { GatewayInfo, repoRoot, waitFor } from '@tiertalk/testkit';
import { ANDROID, DEMO_PASSWORD, nextMessage, userId } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(90_000);

const CLI = path.join(repoRoot, 'libs/client/dist/chat-cli.js');
const SINGLE = IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;
const WAIT_MS = 10_000;

/** One chat-cli process: everything it printed, lines to type, its exit. */
class ChatCli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(args: string[]) {
    // No TT_PASSWORD/TT_AES_KEY from the developer's shell.
    const env = { ...process.env };
    delete env.TT_PASSWORD;
    delete env.TT_AES_KEY;
    this.child = spawn(process.execPath, [CLI, ...args], { cwd: repoRoot, env, stdio: 'pipe' });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  type(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  endInput(): void {
    this.child.stdin.end();
  }

  /** Resolves with the first match of `re` in what was printed after `from` (an offset into stdout). */
  async waitFor(re: RegExp, from = 0): Promise<RegExpExecArray> {
    try {
      await waitFor(() => re.test(this.stdout.slice(from)), WAIT_MS, { what: String(re) });
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)} in the chat client's output:\n${this.stdout.slice(from)}\n--- stderr:\n${this.stderr}`);
    }
    const m = re.exec(this.stdout.slice(from));
    if (m === null) throw new Error(`${re} matched, then did not`);
    return m;
  }

  /** Types a line and waits for what it prints. */
  async command(line: string, expect: RegExp): Promise<RegExpExecArray> {
    const from = this.stdout.length;
    this.type(line);
    return this.waitFor(expect, from);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

const suite = e2eSuite('chat-cli', { dbProxy: 1, route: 1, msg: 2, login: true });
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);
const clients: TeamTalkClient[] = [];
const clis: ChatCli[] = [];

function chat(args: string[]): ChatCli {
  const c = new ChatCli(args);
  clis.push(c);
  return c;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build)`);
});

suite.afterEachTest(async () => {
  for (const c of clis.splice(0)) c.kill();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('chat-cli', () => {
  it('refuses a wrong password with exit code 2 and says so', async () => {
    const cli = chat(['--login-url', suite.cluster.loginUrl, '--user', 'alice', '--password', 'wrong']);
    expect(await cli.exited).toBe(2);
    expect(cli.stderr).toMatch(/login refused for alice/);
    expect(cli.stdout).toBe('');
  });

  it('reads the password from stdin when it is piped, and leaves with code 0 at the end of input', async () => {
    const cli = chat(['--gateway', `127.0.0.1:${gw2().tcpPort}`, '--user', 'dave']);
    cli.type(DEMO_PASSWORD);
    await cli.waitFor(/Logged in as dave/);
    await cli.waitFor(/Type \/help for commands\./);
    cli.type('/help');
    cli.endInput();
    expect(await cli.exited).toBe(0);
    expect(cli.stdout).toMatch(/\/open <user>/);
  });

  it('lists sessions, opens history, sends, shows live messages and read state, and quits', async () => {
    const [aliceId, bobId, carolId] = [await userId(suite.pool, 'alice'), await userId(suite.pool, 'bob'), await userId(suite.pool, 'carol')];
    const bob = await suite.loggedIn(gw2(), 'bob');
    const carol = await suite.loggedIn(gw1(), 'carol');
    // Offline messages for alice: one plain, one encrypted the way TeamTalk clients do (docs/PROTOCOL.md §5).
    await bob.sendText(aliceId, 'hello alice');
    await bob.sendText(aliceId, encryptContent('psst, encrypted'));

    const cli = chat(['--login-url', suite.cluster.loginUrl, '--user', 'alice', '--password', DEMO_PASSWORD]);
    await cli.waitFor(/Logged in as alice/);
    // Recent sessions with the unread count and the (decrypted) latest message.
    await cli.waitFor(/Recent sessions:\n {2}bob +2 unread +\d\d:\d\d +psst, encrypted\n/);

    // History, oldest first; opening marks it read (docs/FLOWS.md §6): the unread counter goes to zero.
    const opened = await cli.command('/open bob', /── bob ──\n(.*)\n(.*)\n/);
    expect(opened[1]).toMatch(/^\d\d:\d\d \[bob\] hello alice$/);
    expect(opened[2]).toMatch(/^\d\d:\d\d \[bob\] psst, encrypted$/);
    const phone = await suite.loggedIn(gw1(), 'alice', ANDROID);
    await waitFor(async () => !(await phone.unreadCounts()).unreadinfoList.some((u) => u.sessionId === bobId && u.unreadCnt > 0), WAIT_MS, {
      what: "bob's unread for alice to clear after /open",
    });

    // A line is sent to the open conversation as a text message.
    const toBob = nextMessage(bob, WAIT_MS);
    await cli.command('hi bob, from the terminal', /\[alice\] hi bob, from the terminal\n/);
    const got = await toBob;
    expect(got.fromUserId).toBe(aliceId);
    expect(Buffer.from(got.msgData).toString()).toBe('hi bob, from the terminal');

    // Messages arrive live: in the open conversation, and from someone else with the unread count.
    let from = cli.stdout.length;
    await bob.sendText(aliceId, 'live from bob');
    await cli.waitFor(/\d\d:\d\d \[bob\] live from bob\n/, from);
    from = cli.stdout.length;
    const carolMsg = await carol.sendText(aliceId, 'ping from carol');
    await cli.waitFor(/\d\d:\d\d \[carol\] ping from carol {2}\(1 unread, \/open carol\)\n/, from);

    // alice reads carol's message on her phone: the terminal learns it live (IMMsgDataReadNotify).
    from = cli.stdout.length;
    phone.readAck(SINGLE, carolId, carolMsg.msgId);
    await cli.waitFor(/· carol: read on another device\n/, from);
    const list = await cli.command('/list', /Recent sessions:\n((?: {2}.*\n)+)/);
    expect(list[1]).toMatch(/^ {2}carol +\d\d:\d\d +ping from carol$/m);
    expect(list[1]).toMatch(/^ {2}bob +\d\d:\d\d +live from bob$/m);
    expect(list[1]).not.toMatch(/unread/);

    // Presence of the people in the sessions (bob and carol are on PC clients).
    const who = await cli.command('/who', /((?: {2}\S+ +(?:online|offline|away)\n)+)/);
    expect(who[1]).toMatch(/^ {2}bob +online$/m);
    expect(who[1]).toMatch(/^ {2}carol +online$/m);

    // /more at the start of the history says so.
    await cli.command('/more', /\(no older messages\)\n/);

    cli.type('/quit');
    expect(await cli.exited).toBe(0);
    expect(cli.stderr).toBe('');
  });

  it('recall and read receipts (docs/PROTOCOL.md §6): /seen, the receipt, /recall, and a recall by the peer', async () => {
    const carolId = await userId(suite.pool, 'carol');
    const dave = await suite.loggedIn(gw2(), 'dave');
    const daveGot: IM.Message.IMMsgData[] = [];
    dave.on('message', (m) => daveGot.push(m));
    const cli = chat(['--gateway', `127.0.0.1:${gw1().tcpPort}`, '--user', 'carol', '--password', DEMO_PASSWORD]);
    await cli.waitFor(/Type \/help for commands\./);
    await cli.command('/open dave', /── dave ──\n/);
    await cli.command('did you see this?', /\[carol\] did you see this\?\n/);
    await cli.command('/seen', /· dave has not read your last message yet\n/);
    await waitFor(() => daveGot.length > 0, WAIT_MS, { what: 'dave got the message' });
    let from = cli.stdout.length;
    dave.readAck(SINGLE, carolId, daveGot[0].msgId);
    await cli.waitFor(new RegExp(`· dave read your messages up to ${daveGot[0].msgId}\n`), from);
    await cli.command('/seen', /· dave has read your last message\n/);

    const recalled: IM.Message.IMMsgRecallNotify[] = [];
    dave.on('recalled', (n) => recalled.push(n));
    await cli.command('/recall', new RegExp(`· your message ${daveGot[0].msgId} was recalled\n`));
    await waitFor(() => recalled.length > 0, WAIT_MS, { what: "dave hears of carol's recall" });
    await cli.command('/recall', /! nothing of yours to recall here\n/);

    from = cli.stdout.length;
    const sent = await dave.sendText(carolId, 'wrong chat, sorry');
    await cli.waitFor(/\[dave\] wrong chat, sorry\n/, from);
    await dave.recall(SINGLE, carolId, sent.msgId);
    await cli.waitFor(new RegExp(`· dave recalled message ${sent.msgId}\n`), from);
    cli.type('/quit');
    expect(await cli.exited).toBe(0);
  });
});
