import { decryptContent as nodeDecrypt, encryptContent as nodeEncrypt } from '@tiertalk/proto';
import { decryptContent, encryptContent, imageContent, messageParts, splitImages } from './content';

describe('web content format', () => {
  it.each(['', 'hello', '你好，世界', 'x'.repeat(12), 'y'.repeat(13), 'z'.repeat(16), '🙂'.repeat(40)])('matches the Node cipher both ways for %j', (text) => {
    expect(Buffer.from(encryptContent(text)).toString('latin1')).toBe(nodeEncrypt(text).toString('latin1'));
    expect(decryptContent(nodeEncrypt(text))).toBe(text);
  });

  it('leaves content that is not TeamTalk-encrypted to be shown as it is', () => {
    expect(decryptContent(Buffer.from('plain text'))).toBeUndefined();
    expect(decryptContent(Buffer.from('abcd'))).toBeUndefined();
    expect(messageParts(Buffer.from('plain ünïcode'), false)).toEqual([{ kind: 'text', text: 'plain ünïcode' }]);
  });

  it('splits images out of text in order, resolving msfs paths', () => {
    const text = `look ${imageContent('http://10.0.0.1:8700/g0/000/000/1.png')} and ${imageContent('g0/000/000/2.jpg')}!`;
    expect(splitImages(text, 'http://msfs.example:8700/')).toEqual([
      { kind: 'text', text: 'look ' },
      { kind: 'image', url: 'http://10.0.0.1:8700/g0/000/000/1.png' },
      { kind: 'text', text: ' and ' },
      { kind: 'image', url: 'http://msfs.example:8700/g0/000/000/2.jpg' },
      { kind: 'text', text: '!' },
    ]);
    expect(nodeDecrypt(nodeEncrypt(text))).toBe(text);
    expect(messageParts(nodeEncrypt(text), false, { msfsUrl: 'http://msfs.example:8700' })[3]).toEqual({ kind: 'image', url: 'http://msfs.example:8700/g0/000/000/2.jpg' });
  });

  it('shows a marker around anything but an http(s) URL as text, and an unclosed marker as text', () => {
    const evil = imageContent('javascript:alert(1)');
    expect(splitImages(evil)).toEqual([{ kind: 'text', text: evil }]);
    expect(splitImages('a &$#@~^@[{:http://x/y')).toEqual([{ kind: 'text', text: 'a &$#@~^@[{:http://x/y' }]);
  });

  it('shows a voice message as its duration', () => {
    const data = Buffer.alloc(10);
    data.writeUInt32BE(7, 0);
    expect(messageParts(data, true)).toEqual([{ kind: 'text', text: '[voice message, 7 s]' }]);
  });
});
