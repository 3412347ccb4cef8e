// One request through the host, in the real host's order: the admin API (master key), the durable
// extension's webhooks, then the function routes (auth level, invocation, response).
import type * as http from 'node:http';
import type { InvocationOutcome, InvocationRequest } from '../core/invoker';
import type { RegisteredFunction } from '../core/registry';
import type { RpcParameterBinding } from '../core/types';
import type { DurableExtension } from '../durable/extension';
import type { HostKeys } from '../keys/hostKeys';
import type { Logger } from '../logger';
import { handleAdminRequest, type AdminApiDeps } from './adminApi';
import { isAuthorized, presentedKey } from './httpAuth';
import { HttpError, sendHttpError, sendJson } from './httpErrors';
import { toRpcHttpRequest } from './httpRequestToRpc';
import { readRequestBody } from './readRequestBody';
import type { RouteTable } from './routeTable';
import { httpResponseOf, writeRpcHttpResponse } from './rpcHttpResponse';

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

export interface RequestHandlerDeps {
  readonly routes: RouteTable;
  readonly keys: HostKeys;
  readonly durable: DurableExtension | undefined;
  readonly admin: AdminApiDeps;
  readonly logger: Logger;
  /** Runs an HTTP-triggered function (and its queue outputs). */
  invoke(fn: RegisteredFunction, request: InvocationRequest): Promise<InvocationOutcome>;
  /** Bytes accepted per request body (Azure's limit unless a test lowers it). */
  readonly maxBodyBytes?: number;
}

const ADMIN_PREFIX = '/admin/';

/** The origin the client used, for URLs handed back to it (durable client binding, request url). */
export function requestOrigin(req: http.IncomingMessage): string {
  const host = req.headers.host ?? `${req.socket.localAddress ?? '127.0.0.1'}:${req.socket.localPort ?? ''}`;
  return `http://${host}`;
}

function durableClientInputs(
  fn: RegisteredFunction,
  durable: DurableExtension | undefined,
  origin: string,
): RpcParameterBinding[] {
  const inputs: RpcParameterBinding[] = [];
  for (const [name, binding] of Object.entries(fn.bindings)) {
    if (binding.direction !== 'in' || String(binding.type).toLowerCase() !== 'durableclient') continue;
    // Startup refuses durableClient bindings without the extension, so this is a host bug.
    if (!durable) throw new HttpError('HTTP.INTERNAL', `Function '${fn.name}' needs the durable extension`);
    inputs.push({ name, data: durable.clientBindingData(origin) });
  }
  return inputs;
}

export function createRequestHandler(deps: RequestHandlerDeps): RequestHandler {
  return async (req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      const origin = requestOrigin(req);
      const url = new URL(req.url ?? '/', origin);
      const body = await readRequestBody(req, deps.maxBodyBytes);

      if (url.pathname.toLowerCase().startsWith(ADMIN_PREFIX)) {
        if (!isAuthorized('admin', presentedKey(req.headers, url.searchParams), deps.keys)) {
          throw new HttpError(
            'HTTP.UNAUTHORIZED',
            'The admin API needs the master key (x-functions-key or ?code=)',
          );
        }
        const result = handleAdminRequest(method, url.pathname, body, deps.admin);
        if (!result) throw new HttpError('HTTP.NOT_FOUND', `No admin endpoint at ${url.pathname}`);
        sendJson(res, result.status, result.body);
        return;
      }

      if (deps.durable && (await deps.durable.handleHttp(req, res, body))) return;

      const match = deps.routes.match(method, url.pathname);
      if (!match) throw new HttpError('HTTP.NOT_FOUND', `No function matches ${method} ${url.pathname}`);
      const { route, params } = match;
      if (!isAuthorized(route.authLevel, presentedKey(req.headers, url.searchParams), deps.keys)) {
        throw new HttpError(
          'HTTP.UNAUTHORIZED',
          `Function '${route.fn.name}' has authLevel "${route.authLevel}": pass a key as x-functions-key or ?code=`,
        );
      }
      const request: InvocationRequest = {
        inputData: [
          {
            name: route.fn.triggerName,
            data: { http: toRpcHttpRequest({ method, url, headers: req.headers, params, body }) },
          },
          ...durableClientInputs(route.fn, deps.durable, origin),
        ],
      };
      const outcome = await deps.invoke(route.fn, request);
      if (!outcome.ok) {
        throw new HttpError(
          'HTTP.FUNCTION_FAILED',
          `Exception while executing function: Functions.${route.fn.name}. ${outcome.error?.message ?? ''}`.trim(),
          { invocationId: outcome.invocationId },
        );
      }
      writeRpcHttpResponse(res, method, httpResponseOf(route.fn, outcome));
    } catch (err) {
      if (err instanceof HttpError) {
        sendHttpError(res, err);
        return;
      }
      deps.logger.error(
        `HTTP ${method} ${req.url ?? ''} failed in the host: ${err instanceof Error ? err.stack : String(err)}`,
      );
      sendHttpError(res, new HttpError('HTTP.INTERNAL', 'The host failed to handle the request'));
    }
  };
}
