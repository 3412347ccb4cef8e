// Writes a function's RPC HTTP response to the client: status, headers, cookies and body bytes.
import type * as http from 'node:http';
import type { InvocationOutcome } from '../core/invoker';
import type { RegisteredFunction } from '../core/registry';
import type { RpcHttpData, RpcTypedData } from '../core/types';
import { HttpError } from './httpErrors';
import { formatSetCookie } from './setCookieHeader';

const RETURN_BINDING = '$return';
/** Headers Node computes itself; copying a function's value could corrupt the framing. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection']);

/** The function's HTTP output: `$return` (app.http's default) or a named `http` output binding. */
export function httpResponseOf(fn: RegisteredFunction, outcome: InvocationOutcome): RpcHttpData | undefined {
  const entry = Object.entries(fn.bindings).find(
    ([, b]) => b.direction === 'out' && String(b.type).toLowerCase() === 'http',
  );
  if (!entry) return undefined;
  const [name] = entry;
  const data =
    name === RETURN_BINDING ? outcome.returnValue : outcome.outputData.find((o) => o.name === name)?.data;
  return data?.http ?? undefined;
}

export function bodyBytes(body: RpcTypedData | null | undefined): Buffer {
  if (!body) return Buffer.alloc(0);
  if (body.bytes) return Buffer.from(body.bytes);
  if (body.stream) return Buffer.from(body.stream);
  if (typeof body.string === 'string') return Buffer.from(body.string, 'utf8');
  if (typeof body.json === 'string') return Buffer.from(body.json, 'utf8');
  if (typeof body.int === 'number') return Buffer.from(String(body.int));
  if (typeof body.double === 'number') return Buffer.from(String(body.double));
  return Buffer.alloc(0);
}

export function writeRpcHttpResponse(
  res: http.ServerResponse,
  method: string,
  response: RpcHttpData | undefined,
): void {
  if (!response) {
    // A function that returns no response: the Functions host answers 204 No Content.
    res.writeHead(204);
    res.end();
    return;
  }
  const status =
    response.statusCode === undefined || response.statusCode === null ? 200 : Number(response.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new HttpError(
      'HTTP.FUNCTION_FAILED',
      `The function returned an invalid status code "${String(response.statusCode)}"`,
    );
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(response.headers ?? {})) {
    if (!FRAMING_HEADERS.has(k.toLowerCase())) headers[k] = String(v);
  }
  const cookies = (response.cookies ?? []).map(formatSetCookie);
  if (cookies.length > 0) {
    const existing = headers['set-cookie'];
    headers['set-cookie'] = [...(existing === undefined ? [] : [existing].flat()), ...cookies];
  }
  const noBody = method.toUpperCase() === 'HEAD' || status === 204 || status === 304 || status < 200;
  const bytes = noBody ? Buffer.alloc(0) : bodyBytes(response.body);
  if (!(status === 204 || status === 304 || status < 200))
    headers['content-length'] = String(
      method.toUpperCase() === 'HEAD' ? bodyBytes(response.body).length : bytes.length,
    );
  res.writeHead(status, headers);
  res.end(bytes.length > 0 ? bytes : undefined);
}
