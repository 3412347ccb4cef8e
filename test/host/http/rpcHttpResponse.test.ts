import type * as http from 'node:http';
import { bodyBytes, writeRpcHttpResponse } from '../../../host/src/http/rpcHttpResponse';
import { thrown } from '../thrown';

interface Captured {
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: Buffer;
}

function fakeResponse(): { res: http.ServerResponse; captured: Captured } {
  const captured: Captured = {};
  const res = {
    writeHead(status: number, headers?: Record<string, string | string[]>) {
      captured.status = status;
      captured.headers = headers ?? {};
      return res;
    },
    end(body?: Buffer) {
      captured.body = body ?? Buffer.alloc(0);
      return res;
    },
  };
  return { res: res as unknown as http.ServerResponse, captured };
}

describe('writeRpcHttpResponse', () => {
  test('status, headers, cookies and body; framing headers are ours', () => {
    const { res, captured } = fakeResponse();
    writeRpcHttpResponse(res, 'GET', {
      statusCode: '201',
      headers: { 'content-type': 'text/plain', 'content-length': '999', 'x-a': 'b' },
      cookies: [{ name: 'c', value: 'v', sameSite: 'lax' }],
      body: { bytes: Buffer.from('hello') },
    });
    expect(captured).toEqual({
      status: 201,
      headers: {
        'content-type': 'text/plain',
        'x-a': 'b',
        'set-cookie': ['c=v; samesite=lax'],
        'content-length': '5',
      },
      body: Buffer.from('hello'),
    });
  });

  test('HEAD sends headers but no body; 204 has neither body nor length', () => {
    const head = fakeResponse();
    writeRpcHttpResponse(head.res, 'HEAD', { statusCode: '200', body: { bytes: Buffer.from('abc') } });
    expect(head.captured).toMatchObject({
      status: 200,
      headers: { 'content-length': '3' },
      body: Buffer.alloc(0),
    });
    const none = fakeResponse();
    writeRpcHttpResponse(none.res, 'GET', { statusCode: '204', body: { bytes: Buffer.from('x') } });
    expect(none.captured).toEqual({ status: 204, headers: {}, body: Buffer.alloc(0) });
  });

  test('no response at all is 204; a bad status is a function failure', () => {
    const { res, captured } = fakeResponse();
    writeRpcHttpResponse(res, 'GET', undefined);
    expect(captured.status).toBe(204);
    expect(
      thrown(() => writeRpcHttpResponse(fakeResponse().res, 'GET', { statusCode: 'abc' })),
    ).toMatchObject({ code: 'HTTP.FUNCTION_FAILED' });
  });

  test('bodyBytes accepts every typed-data form', () => {
    expect(bodyBytes({ string: 'é' })).toEqual(Buffer.from('é'));
    expect(bodyBytes({ json: '{"a":1}' })).toEqual(Buffer.from('{"a":1}'));
    expect(bodyBytes({ int: 3 })).toEqual(Buffer.from('3'));
    expect(bodyBytes(undefined)).toEqual(Buffer.alloc(0));
  });
});
