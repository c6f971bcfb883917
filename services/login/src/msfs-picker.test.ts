import type { InstanceInfo } from '@tiertalk/registry';
import { fixedMsfs, pickMsfs } from './msfs-picker';

function msfs(id: string, meta: InstanceInfo['meta']): InstanceInfo {
  return { id, service: 'msfs', addr: '127.0.0.1:1', load: 0, meta };
}

describe('pickMsfs', () => {
  it('hands out two different live instances when there are two or more', () => {
    const all = [msfs('a', { url: 'http://a:8700/' }), msfs('b', { url: 'http://b:8700/' }), msfs('c', { url: 'http://c:8700/' })];
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { prior, backup } = pickMsfs(all);
      expect(prior).not.toBe(backup);
      seen.add(prior);
    }
    expect(seen).toEqual(new Set(['http://a:8700/', 'http://b:8700/', 'http://c:8700/']));
  });

  it('gives the only instance twice, and empty strings when none is live', () => {
    expect(pickMsfs([msfs('a', { url: 'http://a:8700/' })])).toEqual({ prior: 'http://a:8700/', backup: 'http://a:8700/' });
    expect(pickMsfs([])).toEqual({ prior: '', backup: '' });
  });

  it('skips leaving instances and unusable URLs', () => {
    const all = [msfs('a', { url: 'http://a:8700/', leaving: 1 }), msfs('b', { url: 'ftp://b/' }), msfs('c', { url: 42 }), msfs('d', {}), msfs('e', { url: 'https://e.example/files/' })];
    expect(pickMsfs(all)).toEqual({ prior: 'https://e.example/files/', backup: 'https://e.example/files/' });
  });

  it('a fixed URL (TT_MSFS_URL) wins over discovery', () => {
    expect(fixedMsfs('http://files.example/')()).toEqual({ prior: 'http://files.example/', backup: 'http://files.example/' });
  });
});
