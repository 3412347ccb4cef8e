// The shape of one API operation (one HTTP method on one route). functions/api/apiRoutes.ts lists them all;
// functions/index.ts registers exactly that list, and test/controlPlane checks it against docs/openapi.json.
import type { DurableClient } from 'durable-functions';
import type { Action } from '../../shared/auth/roles';
import type { Principal } from '../../shared/auth/tokenVerifier';
import type { ControlPlane } from '../../shared/controlPlane/controlPlane';
import type { Page } from '../../shared/controlPlane/paging';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface ApiRequestContext {
  readonly cp: ControlPlane;
  readonly principal: Principal;
  /** Route parameters, already checked against their name rules. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed JSON body (PUT and POST only). */
  readonly body: unknown;
  /** Starts and queries durable orchestrations (the durable client input binding of this invocation). */
  readonly durable: DurableClient;
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  /** Vault names the caller may read, when it holds only vault-scoped roles (vault listing only). */
  readonly visibleVaults?: ReadonlySet<string>;
}

export type ApiResult =
  | { readonly status: number; readonly body?: unknown; readonly etag?: string }
  | { readonly status: 200; readonly page: Page<unknown> }
  /**
   * A long-running operation was accepted (ARM async pattern): 202 with `Location` (the job) and
   * `Azure-AsyncOperation` (its operation status, `GET .../operationStatus/{jobId}`). Every long
   * operation is a job, so the job id is the operation id.
   */
  | { readonly status: 202; readonly accepted: { readonly jobId: string }; readonly body?: unknown };

export interface ApiOperation {
  /** Function name (unique in the app). */
  readonly name: string;
  readonly method: HttpMethod;
  /** Route template without the `api/` prefix, in the host's `{param}` syntax. */
  readonly route: string;
  /** What the caller must be allowed to do (shared/auth/roles.ts). */
  readonly action: Action;
  /**
   * `vault`: the role must hold at the vault (or subscription) in the route.
   * `vaultList`: subscription-level listing; callers with only vault-scoped roles see just those vaults.
   */
  readonly scope: 'vault' | 'vaultList';
  readonly handle: (ctx: ApiRequestContext) => Promise<ApiResult>;
}
