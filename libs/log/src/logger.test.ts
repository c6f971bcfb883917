import { Writable } from 'node:stream';
import { createLogger, newRequestId } from './index';

function sink(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const v: unknown = JSON.parse(l);
          if (typeof v !== 'object' || v === null) throw new Error(`not a JSON object: ${l}`);
          return Object.fromEntries(Object.entries(v));
        }),
  };
}

describe('createLogger', () => {
  it('writes one JSON line per event with service, instance, level and ISO time', () => {
    const s = sink();
    const log = createLogger({ service: 'msg', instanceId: 'msg-1', level: 'info', destination: s.stream });
    log.info({ userId: 7 }, 'login ok');
    log.debug('hidden');
    log.child({ conn: 3 }).warn('slow');
    const lines = s.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ service: 'msg', instance: 'msg-1', level: 'info', userId: 7, msg: 'login ok' });
    expect(typeof lines[0].time).toBe('string');
    expect(new Date(String(lines[0].time)).toISOString()).toBe(lines[0].time);
    expect(lines[1]).toMatchObject({ level: 'warn', conn: 3, service: 'msg' });
  });

  it('rejects an unknown level loudly', () => {
    expect(() => createLogger({ service: 's', instanceId: 'i', level: 'loud' })).toThrow();
  });
});

describe('newRequestId', () => {
  it('is 12 hex chars and unique', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newRequestId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
  });
});
