// What the terminal chat client prints: message lines, the session list,
// times, and message content made safe for a terminal. Pure functions.
import { IM, decryptContent } from '@tiertalk/proto';

const MsgType = IM.BaseDefine.MsgType;

/** `09:05` today, `2024-01-02 09:05` on another day (local time). */
export function formatTime(unixSec: number, now: Date): string {
  const d = new Date(unixSec * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? hm : `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${hm}`;
}

// C0/C1 controls (terminal escapes), and bidi overrides that would reorder what
// follows them: another user's message must not be able to redraw the screen.
const UNSAFE_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Text from another user, safe to print: controls replaced, tabs as spaces, line breaks indented under the first line. */
export function safeText(text: string, indent = '    '): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, ' ')
    .replace(UNSAFE_RE, '\ufffd')
    .split('\n')
    .join(`\n${indent}`);
}

/**
 * What a message's content says: TeamTalk ciphertext decrypted with `aesKey`
 * when it decrypts (docs/PROTOCOL.md §5), a voice message as its duration, any other
 * content as UTF-8 text. Not yet made safe for a terminal (see safeText).
 */
export function contentText(msgType: number, data: Uint8Array, aesKey: string): string {
  const decrypted = decryptContent(data, aesKey);
  if (decrypted !== undefined) return decrypted;
  const audio = msgType === MsgType.MSG_TYPE_SINGLE_AUDIO || msgType === MsgType.MSG_TYPE_GROUP_AUDIO;
  // docs/FLOWS.md §4: audio msg_data is a big-endian uint32 duration, then the audio bytes.
  if (audio && data.length >= 4) return `[voice ${Buffer.from(data.buffer, data.byteOffset, 4).readUInt32BE(0)} s]`;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
}

/** One line of a conversation: `09:05 [bob] hi`. */
export function messageLine(p: { time: string; from: string; to?: string; text: string; note?: string }): string {
  const who = p.to === undefined ? `[${p.from}]` : `[${p.from} → ${p.to}]`;
  return `${p.time} ${who} ${safeText(p.text)}${p.note ? `  (${p.note})` : ''}`;
}

/** The first line of a text, at most `max` characters (… when cut). */
export function preview(text: string, max = 48): string {
  const first = safeText(text, '').split('\n')[0];
  const chars = [...first];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : first;
}

export interface SessionRow {
  name: string;
  unread: number;
  /** Formatted time of the latest message ('' when none). */
  time: string;
  preview: string;
}

/** The session list, one aligned row per session. */
export function sessionTable(rows: readonly SessionRow[]): string[] {
  if (rows.length === 0) return ['No recent sessions. /open <user> starts one.'];
  const nameWidth = Math.max(...rows.map((r) => [...r.name].length));
  const unreadText = (n: number): string => (n > 0 ? `${n} unread` : '');
  const unreadWidth = Math.max(...rows.map((r) => unreadText(r.unread).length));
  const timeWidth = Math.max(...rows.map((r) => r.time.length));
  const unreadColumn = (n: number): string => (unreadWidth === 0 ? '' : `${unreadText(n).padEnd(unreadWidth)}  `);
  return rows.map((r) => `  ${r.name.padEnd(nameWidth)}  ${unreadColumn(r.unread)}${r.time.padEnd(timeWidth)}  ${r.preview}`.trimEnd());
}

/** docs/FLOWS.md §5: route reports ONLINE only for users with a PC client on. */
export function statusText(status: number): string {
  switch (status) {
    case IM.BaseDefine.UserStatType.USER_STATUS_ONLINE:
      return 'online';
    case IM.BaseDefine.UserStatType.USER_STATUS_LEAVE:
      return 'away';
    default:
      return 'offline';
  }
}

export const HELP_TEXT = [
  'Commands:',
  '  /list           recent sessions with unread counts',
  '  /open <user>    open a conversation (login name or user id): last messages, marked read',
  '  /more           older messages of the open conversation',
  '  /who            online status of the people in your sessions',
  '  /recall         recall your last message in the open conversation (within the server\'s window)',
  '  /seen           whether the peer has read your last message',
  '  /help           this text',
  '  /quit           log out and leave (also Ctrl-D)',
  'Any other line is sent as a message to the open conversation.',
  '',
  'Message text: real TeamTalk clients encrypt text with a key shared by every client and',
  'server (AES-256-ECB, TeamTalk padding, base64). This client shows such text decrypted with',
  'TT_AES_KEY (default: the key TeamTalk ships with) and any other content as it is. It sends',
  'plain text unless started with --encrypt (then TeamTalk clients can read what you send).',
  'Lines starting with / are commands; start a message with // to send a leading /.',
];
