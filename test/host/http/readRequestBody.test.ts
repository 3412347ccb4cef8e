import type * as http from 'node:http';
import { Readable } from 'node:stream';
import { MAX_REQUEST_BODY_BYTES, readRequestBody } from '../../../host/src/http/readRequestBody';

function request(chunks: Buffer[], headers: Record<string, string> = {}): http.IncomingMessage {
  return Object.assign(Readable.from(chunks), { headers }) as unknown as http.IncomingMessage;
}

describe('readRequestBody', () => {
  test('Azure’s limit is 100 MB', () => {
    expect(MAX_REQUEST_BODY_BYTES).toBe(100 * 1024 * 1024);
  });

  test('empty, one byte, exactly the limit', async () => {
    expect(await readRequestBody(request([]), 4)).toEqual(Buffer.alloc(0));
    expect(await readRequestBody(request([Buffer.from('a')]), 4)).toEqual(Buffer.from('a'));
    expect(await readRequestBody(request([Buffer.from('ab'), Buffer.from('cd')]), 4)).toEqual(
      Buffer.from('abcd'),
    );
  });

  test('one byte over the limit is 413, whether declared or streamed', async () => {
    await expect(readRequestBody(request([Buffer.from('abc'), Buffer.from('de')]), 4)).rejects.toMatchObject({
      code: 'HTTP.PAYLOAD_TOO_LARGE',
      status: 413,
    });
    await expect(readRequestBody(request([], { 'content-length': '5' }), 4)).rejects.toMatchObject({
      status: 413,
    });
  });
});
