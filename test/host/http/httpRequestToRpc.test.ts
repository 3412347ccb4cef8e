import { rpcQuery, toRpcHttpRequest } from '../../../host/src/http/httpRequestToRpc';

describe('toRpcHttpRequest', () => {
  const base = {
    url: new URL('http://localhost:7071/api/x/1?a=1&b=2&a=3'),
    headers: { 'content-type': 'text/plain', 'x-multi': ['a', 'b'] },
    params: { id: '1' },
    body: Buffer.from('hello'),
  };

  test('POST carries the body as bytes, headers and query as the host sends them', () => {
    const rpc = toRpcHttpRequest({ ...base, method: 'post' });
    expect(rpc).toEqual({
      method: 'POST',
      url: 'http://localhost:7071/api/x/1?a=1&b=2&a=3',
      headers: { 'content-type': 'text/plain', 'x-multi': 'a, b' },
      params: { id: '1' },
      query: { a: '1,3', b: '2' },
      body: { bytes: Buffer.from('hello') },
    });
  });

  test('GET and HEAD drop the body', () => {
    expect(toRpcHttpRequest({ ...base, method: 'GET' }).body).toBeUndefined();
    expect(toRpcHttpRequest({ ...base, method: 'HEAD' }).body).toBeUndefined();
  });

  test('an empty POST body is zero bytes', () => {
    expect(toRpcHttpRequest({ ...base, method: 'POST', body: Buffer.alloc(0) }).body).toEqual({
      bytes: Buffer.alloc(0),
    });
  });

  test('rpcQuery of nothing is empty', () => {
    expect(rpcQuery(new URLSearchParams(''))).toEqual({});
  });
});
