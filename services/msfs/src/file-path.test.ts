import { newFilePath, parseFilePath } from './file-path';

describe('msfs file paths', () => {
  it('hands out TeamTalk-shaped paths whose key drops the group', () => {
    const p = newFilePath('jpg', '_200x300', 1410706133246550n);
    expect(p.path).toMatch(/^g0\/\d{3}\/\d{3}\/1410706133246550_\d+_200x300\.jpg$/);
    expect(p.key).toBe(p.path.slice('g0/'.length));
    expect(parseFilePath(p.path)).toEqual(p);
  });

  it('gives every upload its own path', () => {
    const paths = new Set(Array.from({ length: 1000 }, () => newFilePath('png', '').path));
    expect(paths.size).toBe(1000);
  });

  it('reads paths a TeamTalk msfs handed out', () => {
    expect(parseFilePath('g0/000/000/1410706133246550_140184328214.jpg')).toEqual({
      path: 'g0/000/000/1410706133246550_140184328214.jpg',
      key: '000/000/1410706133246550_140184328214.jpg',
      extension: 'jpg',
    });
  });

  it.each([
    '../etc/passwd',
    'g0/../../etc/passwd.txt',
    'g0/000/000/../x.jpg',
    'g0/000/000/%2e%2e.jpg',
    'g0/000/000/a/b.jpg',
    'g0/000/000/a.jpg/',
    '/g0/000/000/a.jpg',
    'g0//000/a.jpg',
    'g0/000/000/a\u0000.jpg',
    'g0/000/000/a',
    'g0/0000/000/a.jpg',
    'metrics',
    '',
  ])('names no file for %j', (path) => {
    expect(parseFilePath(path)).toBeUndefined();
  });
});
