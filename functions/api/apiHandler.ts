// The HTTP edge of every API operation, in one place and one order:
//   1. authenticate (401)   2. check route names (400)   3. authorize at the route's scope (404 / 403)
//   4. read and parse the body (413 / 400)   5. run the operation   6. shape the answer or the error.
// Authorization comes before the body, so a caller without access learns nothing from validation errors.
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { TokenVerifier } from '../../shared/auth/tokenVerifier';
import type { ControlPlane } from '../../shared/controlPlane/controlPlane';
import { ApiError, errorResponseOf } from '../../shared/controlPlane/apiErrors';
import type { NameKind } from '../../shared/controlPlane/names';
import { MAX_JSON_BODY_BYTES, checkName } from '../../shared/controlPlane/requestValidation';
import type { ApiOperation, ApiRequestContext, ApiResult } from './apiOperation';

/** Route parameter -> the name rule it must satisfy. */
const PARAM_RULES: Readonly<Record<string, NameKind>> = {
  subscriptionId: 'subscriptionId',
  vaultName: 'vaultName',
  policyName: 'policyName',
  itemName: 'itemName',
  recoveryPointId: 'recoveryPointId',
  jobId: 'jobId',
  roleAssignmentName: 'roleAssignmentName',
};

export interface ApiHandlerDeps {
  readonly cp: ControlPlane;
  readonly verifier: TokenVerifier;
}

/** Seconds a client should wait before polling an accepted operation (ARM `Retry-After`). */
export const ASYNC_RETRY_AFTER_SECONDS = 5;

async function readJsonBody(request: HttpRequest, optional: boolean): Promise<unknown> {
  const declared = Number(request.headers.get('content-length'));
  const tooLarge = () =>
    new ApiError(
      'RequestBodyTooLarge',
      `body must be at most ${MAX_JSON_BODY_BYTES} bytes (the API's JSON body limit)`,
      'body',
    );
  if (Number.isFinite(declared) && declared > MAX_JSON_BODY_BYTES) throw tooLarge();
  const bytes = Buffer.from(await request.arrayBuffer());
  if (bytes.length > MAX_JSON_BODY_BYTES) throw tooLarge();
  // An action (POST) may have no parameters; an empty body then means "no options".
  if (bytes.length === 0 && optional) return {};
  if (bytes.length === 0)
    throw new ApiError('InvalidRequestBody', 'body is required (a JSON object)', 'body');
  const type = request.headers.get('content-type');
  if (type !== null && !/^application\/json\b/i.test(type)) {
    throw new ApiError('UnsupportedMediaType', 'Content-Type must be application/json', 'Content-Type');
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new ApiError('InvalidRequestBody', 'body must be valid JSON', 'body');
  }
}

/** ARM paging: `nextLink` is this request's URL with the next `$skipToken`. */
function nextLinkOf(request: HttpRequest, skipToken: string | undefined): string | undefined {
  if (skipToken === undefined) return undefined;
  const url = new URL(request.url);
  url.searchParams.set('$skipToken', skipToken);
  return url.toString();
}

/** The URLs of an accepted operation: the job (`Location`) and its ARM operation status. */
function asyncOperationUrls(request: HttpRequest, params: Readonly<Record<string, string>>, jobId: string) {
  const url = new URL(request.url);
  const vault = `${url.origin}/api/subscriptions/${params.subscriptionId ?? ''}/vaults/${params.vaultName ?? ''}`;
  return { location: `${vault}/jobs/${jobId}`, status: `${vault}/operationStatus/${jobId}` };
}

function shape(
  request: HttpRequest,
  result: ApiResult,
  headers: Record<string, string>,
  params: Readonly<Record<string, string>>,
): HttpResponseInit {
  if ('accepted' in result) {
    const urls = asyncOperationUrls(request, params, result.accepted.jobId);
    const accepted = {
      ...headers,
      Location: urls.location,
      'Azure-AsyncOperation': urls.status,
      'Retry-After': String(ASYNC_RETRY_AFTER_SECONDS),
    };
    return result.body === undefined
      ? { status: 202, headers: accepted }
      : { status: 202, headers: accepted, jsonBody: result.body };
  }
  if ('page' in result) {
    const nextLink = nextLinkOf(request, result.page.skipToken);
    return {
      status: 200,
      headers,
      jsonBody: { value: result.page.value, ...(nextLink ? { nextLink } : {}) },
    };
  }
  const withEtag = result.etag !== undefined ? { ...headers, ETag: result.etag } : headers;
  return result.body === undefined
    ? { status: result.status, headers: withEtag }
    : { status: result.status, headers: withEtag, jsonBody: result.body };
}

export function createApiHandler(
  op: ApiOperation,
  deps: ApiHandlerDeps,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (request, context) => {
    // Control-plane answers describe the moment they were made; nothing is cacheable.
    const headers: Record<string, string> = {
      'Cache-Control': 'no-store',
      'x-ms-request-id': context.invocationId,
    };
    try {
      const principal = await deps.verifier.verify(request.headers.get('authorization'));
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.params)) {
        const rule = PARAM_RULES[name];
        params[name] = rule === undefined ? value : checkName(rule, value);
      }
      const sub = params.subscriptionId ?? '';
      let visibleVaults: ReadonlySet<string> | undefined;
      if (op.scope === 'vaultList') {
        const allowed = await deps.cp.access.vaultsAllowed(principal, sub, op.action);
        visibleVaults = allowed === 'all' ? undefined : allowed;
      } else {
        const vault = params.vaultName;
        await deps.cp.access.check(
          principal,
          vault === undefined ? { subscriptionId: sub } : { subscriptionId: sub, vaultName: vault },
          op.action,
        );
      }
      const body =
        op.method === 'PUT' || op.method === 'POST'
          ? await readJsonBody(request, op.method === 'POST')
          : undefined;
      const ifMatch = request.headers.get('if-match') ?? undefined;
      const ifNoneMatch = request.headers.get('if-none-match') ?? undefined;
      const ctx: ApiRequestContext = {
        cp: deps.cp,
        principal,
        params,
        query: request.query,
        body,
        durable: df.getClient(context),
        ...(ifMatch !== undefined ? { ifMatch } : {}),
        ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
        ...(visibleVaults !== undefined ? { visibleVaults } : {}),
      };
      return shape(request, await op.handle(ctx), headers, params);
    } catch (err) {
      const response = errorResponseOf(err);
      if (response.internal !== undefined) {
        context.error(
          `${op.name} failed: ${response.internal instanceof Error ? (response.internal.stack ?? response.internal.message) : 'a non-Error value was thrown'}`,
        );
      }
      if (response.status === 401) headers['WWW-Authenticate'] = 'Bearer error="invalid_token"';
      return { status: response.status, headers, jsonBody: response.body };
    }
  };
}
