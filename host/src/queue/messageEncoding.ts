// Queue message encoding (host.json `extensions.queues.messageEncoding`). The Functions host's
// default is base64: it base64-encodes what output bindings write and expects base64 on the trigger.
export type MessageEncoding = 'base64' | 'none';

/** .NET Convert.FromBase64String: whitespace is ignored, length a multiple of 4, up to two '='. */
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export type DecodeResult = { ok: true; text: string } | { ok: false; reason: string };

export function encodeQueueMessage(body: string | Uint8Array, encoding: MessageEncoding): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  return encoding === 'base64' ? bytes.toString('base64') : bytes.toString('utf8');
}

export function decodeQueueMessage(raw: string, encoding: MessageEncoding): DecodeResult {
  if (encoding === 'none') return { ok: true, text: raw };
  const compact = raw.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64_RE.test(compact)) {
    return { ok: false, reason: 'the message is not valid base64 (host.json messageEncoding is "base64")' };
  }
  return { ok: true, text: Buffer.from(compact, 'base64').toString('utf8') };
}
