import { IM } from '@tiertalk/proto';
import { conversationKey, storeIdemKey } from './store-keys';

const { MSG_TYPE_SINGLE_TEXT, MSG_TYPE_GROUP_TEXT, MSG_TYPE_SINGLE_AUDIO } = IM.BaseDefine.MsgType;

describe('conversationKey', () => {
  it('is the user pair for 1:1 in either direction, the group id for groups', () => {
    expect(conversationKey({ fromUserId: 7, toSessionId: 3, msgType: MSG_TYPE_SINGLE_TEXT })).toBe('3:7');
    expect(conversationKey({ fromUserId: 3, toSessionId: 7, msgType: MSG_TYPE_SINGLE_AUDIO })).toBe('3:7');
    expect(conversationKey({ fromUserId: 3, toSessionId: 7, msgType: MSG_TYPE_GROUP_TEXT })).toBe('g:7');
    expect(conversationKey({ fromUserId: 9, toSessionId: 7, msgType: MSG_TYPE_GROUP_TEXT })).toBe('g:7');
  });
});

describe('storeIdemKey', () => {
  const base = { toSessionId: 1002, msgType: MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from('hello') };

  it('is stable for the same receiver, type, seq, client time and content (a retry, or a resend on a new connection)', () => {
    const k = storeIdemKey(base, 17, 1_700_000_000);
    expect(k).toMatch(/^[0-9a-f]{32}$/);
    expect(storeIdemKey({ ...base, msgData: Buffer.from('hello') }, 17, 1_700_000_000)).toBe(k);
  });

  it('differs when any of them differs', () => {
    const k = storeIdemKey(base, 17, 1_700_000_000);
    const others = [
      storeIdemKey(base, 18, 1_700_000_000),
      storeIdemKey(base, 17, 1_700_000_001),
      storeIdemKey({ ...base, toSessionId: 1003 }, 17, 1_700_000_000),
      storeIdemKey({ ...base, msgType: MSG_TYPE_SINGLE_AUDIO }, 17, 1_700_000_000),
      storeIdemKey({ ...base, msgData: Buffer.from('hellO') }, 17, 1_700_000_000),
    ];
    expect(new Set([k, ...others]).size).toBe(6);
  });
});
