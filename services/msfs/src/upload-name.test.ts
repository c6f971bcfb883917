import { UploadError } from './answers';
import { parseUploadName } from './upload-name';

describe('parseUploadName (TeamTalk HttpConn.cpp rules)', () => {
  it('takes the extension after the last dot, lower-cased', () => {
    expect(parseUploadName('IMG_0001.JPG')).toEqual({ extension: 'jpg', sizeHint: '' });
    expect(parseUploadName('voice.2014.amr')).toEqual({ extension: 'amr', sizeHint: '' });
  });

  it('keeps a _<w>x<h> size hint as TeamTalk did, numbers normalised', () => {
    expect(parseUploadName('photo_200x300.png')).toEqual({ extension: 'png', sizeHint: '_200x300' });
    expect(parseUploadName('a_0640x0480.jpg')).toEqual({ extension: 'jpg', sizeHint: '_640x480' });
    expect(parseUploadName('a_12345x1.jpg')).toEqual({ extension: 'jpg', sizeHint: '' });
    expect(parseUploadName('ax200.jpg')).toEqual({ extension: 'jpg', sizeHint: '' });
  });

  it('refuses with TeamTalk codes: no dot 10, extension over 15 characters 9, name over 255 bytes 11', () => {
    expect(parseUploadName('noextension')).toEqual({ error: UploadError.NO_EXTENSION });
    expect(parseUploadName('a.abcdefghijklmnop')).toEqual({ error: UploadError.EXTENSION_TOO_LONG });
    expect(parseUploadName(`${'图'.repeat(85)}.jpg`)).toEqual({ error: UploadError.FILENAME_TOO_LONG });
  });

  it('refuses an extension that could not be part of a stored path', () => {
    expect(parseUploadName('x.j/pg')).toEqual({ error: UploadError.TYPE_NOT_ALLOWED });
    expect(parseUploadName('x.')).toEqual({ error: UploadError.TYPE_NOT_ALLOWED });
  });
});
