// HTTP errors the host itself produces, each with a string code, mapped to a status in one place.
// Bodies use Azure's error shape: {"error":{"code","message"}}.
import type * as http from 'node:http';

export type HttpErrorCode =
  | 'HTTP.BAD_REQUEST'
  | 'HTTP.UNAUTHORIZED'
  | 'HTTP.NOT_FOUND'
  | 'HTTP.METHOD_NOT_ALLOWED'
  | 'HTTP.PAYLOAD_TOO_LARGE'
  | 'HTTP.FUNCTION_FAILED'
  | 'HTTP.INTERNAL'
  | 'HTTP.HOST_STARTING';

const STATUS_BY_CODE: Record<HttpErrorCode, number> = {
  'HTTP.BAD_REQUEST': 400,
  'HTTP.UNAUTHORIZED': 401,
  'HTTP.NOT_FOUND': 404,
  'HTTP.METHOD_NOT_ALLOWED': 405,
  'HTTP.PAYLOAD_TOO_LARGE': 413,
  'HTTP.FUNCTION_FAILED': 500,
  'HTTP.INTERNAL': 500,
  'HTTP.HOST_STARTING': 503,
};

export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(bytes.length),
  });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

export function sendHttpError(res: http.ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, { error: { code: err.code, message: err.message, ...err.details } }, err.headers);
}
