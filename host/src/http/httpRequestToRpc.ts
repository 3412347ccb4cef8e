// An incoming request as the RPC HTTP data the worker would receive from the Functions host.
import type * as http from 'node:http';
import type { RpcHttpData } from '../core/types';

export interface RequestParts {
  readonly method: string;
  /** The full URL the client used (scheme, host, path, query). */
  readonly url: URL;
  readonly headers: http.IncomingHttpHeaders;
  readonly params: Record<string, string>;
  readonly body: Buffer;
}

/** Header names lower-cased (Node already does), repeated headers joined as the host joins them. */
export function rpcHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Query values; a repeated key's values are joined with "," (ASP.NET's StringValues.ToString()). */
export function rpcQuery(search: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of new Set(search.keys())) out[key] = search.getAll(key).join(',');
  return out;
}

export function toRpcHttpRequest(parts: RequestParts): RpcHttpData {
  const method = parts.method.toUpperCase();
  const data: RpcHttpData = {
    method,
    url: parts.url.toString(),
    headers: rpcHeaders(parts.headers),
    params: { ...parts.params },
    query: rpcQuery(parts.url.searchParams),
  };
  // GET and HEAD carry no body: the library's Request constructor would throw on one.
  if (method !== 'GET' && method !== 'HEAD') data.body = { bytes: parts.body };
  return data;
}
