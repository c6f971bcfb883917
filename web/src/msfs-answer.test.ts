import { UploadError, readAnswer, uploadBlocker, uploadName } from './msfs-answer';

describe('the page reads msfs answers', () => {
  it("takes the URL from TeamTalk's success answer", () => {
    expect(readAnswer(200, '{"error_code":0,"error_msg": "成功","path":"g0/000/000/1_2.png","url":"http://h:8700/g0/000/000/1_2.png"}', null)).toBe('http://h:8700/g0/000/000/1_2.png');
  });

  it("shows msfs's refusals with their code and TeamTalk's text", () => {
    const refused = (status: number, body: string, retryAfter: string | null = null): UploadError => {
      try {
        readAnswer(status, body, retryAfter);
      } catch (err) {
        return err as UploadError;
      }
      throw new Error('expected a refusal');
    };
    const big = refused(200, '{"error_code":1,"error_msg": "上传文件过大","url":""}');
    expect([big.code, big.message]).toEqual([1, 'Upload failed: the file is too large for the file store (msfs error 1: 上传文件过大)']);
    expect(refused(200, '{"error_code":12,"error_msg": "文件类型不允许","path":"","url":""}').message).toContain('not accepted');
    expect(refused(429, '{"error_code":13,"error_msg": "上传过于频繁","path":"","url":""}', '17').message).toContain('try again in 17 s');
    expect(refused(200, '{"error_code":10,"error_msg": "格式错误","path":"","url":""}').message).toBe('Upload failed: the file store refused the upload (msfs error 10: 格式错误)');
    expect(refused(502, '<html>Bad Gateway</html>').message).toBe('the file store answered HTTP 502 without its JSON answer');
  });

  it('names the part so msfs sees an extension', () => {
    expect(uploadName({ name: 'IMG_1.JPG', type: 'image/jpeg' })).toBe('IMG_1.JPG');
    expect(uploadName({ name: 'image', type: 'image/jpeg' })).toBe('image.jpg');
    expect(uploadName({ name: '', type: 'image/png' })).toBe('image.png');
  });

  it('says why a page cannot upload: no msfs, or an http msfs under an https page', () => {
    expect(uploadBlocker(undefined, false)).toContain('no file store');
    expect(uploadBlocker('http://h:8700/', true)).toContain('https');
    expect(uploadBlocker('http://h:8700/', false)).toBeUndefined();
    expect(uploadBlocker('https://files.example/', true)).toBeUndefined();
  });
});
