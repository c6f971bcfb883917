import { UploadError, uploadErrorBody, uploadOkBody } from './answers';

describe('TeamTalk upload answers', () => {
  it('success, byte for byte as TeamTalk wrote it', () => {
    expect(uploadOkBody('g0/000/000/1_2.jpg', 'http://h:8700/g0/000/000/1_2.jpg')).toBe(
      '{"error_code":0,"error_msg": "成功","path":"g0/000/000/1_2.jpg","url":"http://h:8700/g0/000/000/1_2.jpg"}',
    );
  });

  it('too large has no path key; format errors have empty path and url', () => {
    expect(uploadErrorBody(UploadError.TOO_LARGE)).toBe('{"error_code":1,"error_msg": "上传文件过大","url":""}');
    expect(uploadErrorBody(UploadError.NO_BOUNDARY)).toBe('{"error_code":4,"error_msg": "格式错误","path":"","url":""}');
    expect(JSON.parse(uploadErrorBody(UploadError.TYPE_NOT_ALLOWED))).toEqual({ error_code: 12, error_msg: '文件类型不允许', path: '', url: '' });
  });
});
