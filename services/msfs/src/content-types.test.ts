import { DEFAULT_ALLOWED_TYPES } from './config';
import { acceptedType, downloadType } from './content-types';

const allowed = new Set<string>(DEFAULT_ALLOWED_TYPES);

describe('content types', () => {
  it('takes the type from the extension when the part is octet-stream, as TeamTalk clients send it', () => {
    expect(acceptedType('jpg', 'application/octet-stream', allowed)).toBe('image/jpeg');
    expect(acceptedType('amr', 'application/octet-stream', allowed)).toBe('audio/amr');
  });

  it('accepts a declared type that matches the extension, refuses one that does not', () => {
    expect(acceptedType('png', 'image/png', allowed)).toBe('image/png');
    expect(acceptedType('png', 'text/html', allowed)).toBeUndefined();
  });

  it('refuses unknown extensions and types off the allow-list', () => {
    expect(acceptedType('html', 'application/octet-stream', allowed)).toBeUndefined();
    expect(acceptedType('exe', 'application/octet-stream', allowed)).toBeUndefined();
    expect(acceptedType('gif', 'application/octet-stream', new Set(['image/png']))).toBeUndefined();
    expect(acceptedType('constructor', '', allowed)).toBeUndefined();
  });

  it('serves images as TeamTalk did (image/<extension>) and other files with their own type', () => {
    expect(downloadType('jpg')).toBe('image/jpg');
    expect(downloadType('PNG')).toBe('image/png');
    expect(downloadType('amr')).toBe('audio/amr');
    expect(downloadType('zzz')).toBe('application/octet-stream');
  });
});
