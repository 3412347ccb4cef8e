// Reads a request body into memory, refusing anything over Azure's HTTP trigger limit.
import type * as http from 'node:http';
import { HttpError } from './httpErrors';

/** Azure Functions: "The maximum HTTP request length is 100 MB (104,857,600 bytes)". */
export const MAX_REQUEST_BODY_BYTES = 104_857_600;

export function readRequestBody(
  req: http.IncomingMessage,
  limitBytes: number = MAX_REQUEST_BODY_BYTES,
): Promise<Buffer> {
  // `connection: close` so the 413 ends the connection instead of reading the rest of the upload.
  const tooLarge = (): HttpError =>
    new HttpError(
      'HTTP.PAYLOAD_TOO_LARGE',
      `The request body is larger than ${limitBytes} bytes`,
      {},
      { connection: 'close' },
    );
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limitBytes) {
        cleanup();
        // Pause rather than destroy: destroying the request would kill the socket before the 413.
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
