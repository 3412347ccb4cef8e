import { decodeQueueMessage, encodeQueueMessage } from '../../../host/src/queue/messageEncoding';

describe('queue message encoding', () => {
  test.each([[''], ['a'], ['hello, wörld'], ['{"a":[1,2]}'], ['😀']])('base64 round trip of %p', (text) => {
    const encoded = encodeQueueMessage(text, 'base64');
    expect(encoded).toBe(Buffer.from(text, 'utf8').toString('base64'));
    expect(decodeQueueMessage(encoded, 'base64')).toEqual({ ok: true, text });
  });

  test('bytes are encoded as they are', () => {
    expect(encodeQueueMessage(Buffer.from([0, 255]), 'base64')).toBe('AP8=');
    expect(encodeQueueMessage(Buffer.from('abc'), 'none')).toBe('abc');
  });

  test('"none" passes text through', () => {
    expect(encodeQueueMessage('plain', 'none')).toBe('plain');
    expect(decodeQueueMessage('not base64!', 'none')).toEqual({ ok: true, text: 'not base64!' });
  });

  test('whitespace inside base64 is ignored, as .NET does', () => {
    expect(decodeQueueMessage('aGVs\nbG8=', 'base64')).toEqual({ ok: true, text: 'hello' });
  });

  test.each([['hello'], ['aGVsbG8'], ['aGV$bG8='], ['a===']])('%p is not base64', (raw) => {
    expect(decodeQueueMessage(raw, 'base64').ok).toBe(false);
  });
});
