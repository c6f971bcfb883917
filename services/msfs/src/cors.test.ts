import type http from 'node:http';
import { CorsPolicy, isCorsOrigin } from './cors';

const request = (headers: http.IncomingHttpHeaders): http.IncomingMessage => ({ headers }) as http.IncomingMessage;

describe('CORS policy', () => {
  it('answers any page with "*" and adds nothing for requests that are not from a page', () => {
    const any = new CorsPolicy(['*']);
    expect(any.headers(request({ origin: 'http://127.0.0.1:8090' }))).toMatchObject({ 'Access-Control-Allow-Origin': '*' });
    expect(any.headers(request({}))).toEqual({ Vary: 'Origin' });
    expect(new CorsPolicy([]).headers(request({ origin: 'http://127.0.0.1:8090' }))).toEqual({});
  });

  it('echoes a listed origin, and only that one', () => {
    const listed = new CorsPolicy(['https://chat.example.com']);
    expect(listed.headers(request({ origin: 'https://chat.example.com' }))).toMatchObject({ 'Access-Control-Allow-Origin': 'https://chat.example.com', Vary: 'Origin' });
    expect(listed.headers(request({ origin: 'https://evil.example' }))).toEqual({ Vary: 'Origin' });
    expect(listed.allowsPreflight(request({ origin: 'https://chat.example.com', 'access-control-request-method': 'POST' }))).toBe(true);
    expect(listed.allowsPreflight(request({ origin: 'https://evil.example', 'access-control-request-method': 'POST' }))).toBe(false);
    expect(listed.allowsPreflight(request({ origin: 'https://chat.example.com', 'access-control-request-method': 'DELETE' }))).toBe(false);
  });

  it('takes "*" or bare origins as settings', () => {
    expect(['*', 'http://127.0.0.1:8090', 'https://chat.example.com'].every(isCorsOrigin)).toBe(true);
    expect(['https://chat.example.com/', 'https://CHAT.example.com', 'chat.example.com', 'https://x:443', 'file:///x', ''].some(isCorsOrigin)).toBe(false);
  });
});
