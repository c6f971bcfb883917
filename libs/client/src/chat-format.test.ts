import { IM, TEAMTALK_DEFAULT_AES_KEY, encryptContent } from '@tiertalk/proto';
import { contentText, formatTime, messageLine, preview, safeText, sessionTable, statusText } from './chat-format';

const KEY = TEAMTALK_DEFAULT_AES_KEY;
const sec = (d: Date): number => Math.floor(d.getTime() / 1000);

describe('chat formatting', () => {
  it('shows the time of day for today and the date otherwise (local time)', () => {
    const now = new Date(2024, 0, 2, 18, 30);
    expect(formatTime(sec(new Date(2024, 0, 2, 9, 5)), now)).toBe('09:05');
    expect(formatTime(sec(new Date(2023, 11, 31, 23, 59)), now)).toBe('2023-12-31 23:59');
  });

  it('makes another user\'s text safe for a terminal', () => {
    expect(safeText('red \x1b[31mtext\x1b[0m')).toBe('red \ufffd[31mtext\ufffd[0m');
    expect(safeText('a\tb\u202eevil')).toBe('a b\ufffdevil');
    expect(safeText('line 1\r\nline 2\nline 3')).toBe('line 1\n    line 2\n    line 3');
    expect(safeText('你好 😀')).toBe('你好 😀');
  });

  it('decrypts TeamTalk ciphertext, shows voice as its duration, and other content as text', () => {
    const TEXT = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT;
    const AUDIO = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO;
    expect(contentText(TEXT, encryptContent('secret 秘密', KEY), KEY)).toBe('secret 秘密');
    expect(contentText(TEXT, Buffer.from('plain hi'), KEY)).toBe('plain hi');
    expect(contentText(AUDIO, Buffer.from([0, 0, 0, 5, 9, 9, 9]), KEY)).toBe('[voice 5 s]');
    // docs/FLOWS.md §7.1: previews of audio are the encrypted "[语音]".
    expect(contentText(AUDIO, encryptContent('[语音]', KEY), KEY)).toBe('[语音]');
  });

  it('formats message lines', () => {
    expect(messageLine({ time: '09:05', from: 'bob', text: 'hi' })).toBe('09:05 [bob] hi');
    expect(messageLine({ time: '09:05', from: 'alice', to: 'bob', text: 'yo', note: 'from your other device' })).toBe(
      '09:05 [alice → bob] yo  (from your other device)',
    );
  });

  it('cuts previews to their first line', () => {
    expect(preview('one\ntwo')).toBe('one');
    expect(preview('x'.repeat(60), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(preview('你'.repeat(20), 10)).toBe(`${'你'.repeat(9)}…`);
  });

  it('aligns the session table', () => {
    expect(
      sessionTable([
        { name: 'bob', unread: 2, time: '09:05', preview: 'hi' },
        { name: 'carol', unread: 0, time: '2024-01-01 10:00', preview: 'ok' },
      ]),
    ).toEqual(['  bob    2 unread  09:05             hi', '  carol            2024-01-01 10:00  ok']);
    expect(sessionTable([{ name: 'bob', unread: 0, time: '09:05', preview: 'hi' }])).toEqual(['  bob  09:05  hi']);
    expect(sessionTable([])).toEqual(['No recent sessions. /open <user> starts one.']);
  });

  it('names statuses', () => {
    expect(statusText(1)).toBe('online');
    expect(statusText(2)).toBe('offline');
    expect(statusText(3)).toBe('away');
  });
});
