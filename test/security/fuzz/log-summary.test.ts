import { summariseLog } from './log-summary';

describe('summariseLog', () => {
  it('counts warn and above by level label and message, and keeps lines that are not JSON', () => {
    const text = [
      '=== 2026-12-06T08:00:00.000Z msg-1 prefix=/x ===',
      JSON.stringify({ level: 'info', msg: 'login ok' }),
      JSON.stringify({ level: 'warn', msg: 'undecodable body dropped' }),
      JSON.stringify({ level: 'warn', msg: 'undecodable body dropped' }),
      JSON.stringify({ level: 'error', msg: 'handler failed', err: { message: 'boom' } }),
      JSON.stringify({ level: 60, msg: 'dying' }),
      'TypeError: x is not a function',
    ].join('\n');
    const s = summariseLog(text);
    expect(s.counts).toEqual({ 'warn undecodable body dropped': 2, 'error handler failed: boom': 1, 'fatal dying': 1 });
    expect(s.errors).toBe(2);
    expect(s.unstructured).toEqual(['TypeError: x is not a function']);
  });
});
