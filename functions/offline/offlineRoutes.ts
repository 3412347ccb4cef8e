// API operations of offline seeding (issue 6): vault credentials, helper servers (register, data
// access, protect, events), the "initiate offline backup" resource, import jobs (drives, shipping
// details). Thin: decode, call shared/offline/offlineService.ts, shape. Auth, route-name checks of the
// shared parameters and error mapping are apiHandler's; this file checks its own parameters
// (serverName, importJobName) and maps OFFLINE.* codes through toApiError.
import type { DurableClient } from 'durable-functions';
import { toApiError, type OfflineWorkflow } from '../../shared/offline/offlineService';
import type { ApiOperation, ApiRequestContext, ApiResult } from '../api/apiOperation';
import { offlineDepsOrThrow } from './offlineDeps';
import { OFFLINE_FUNCTIONS, WAKE_EVENT } from './names';

const VAULT = 'subscriptions/{subscriptionId}/vaults/{vaultName}';
const SERVER = `${VAULT}/servers/{serverName}`;

const FINISHED = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/** The durable client as the offline service needs it. */
export function durableWorkflow(client: DurableClient): OfflineWorkflow {
  const statusOf = async (id: string) => {
    try {
      return await client.getStatus(id);
    } catch (err) {
      if (/HTTP 404/.test((err as Error).message)) return undefined;
      throw err;
    }
  };
  return {
    async start(instanceId, input) {
      const s = await statusOf(instanceId);
      if (s && !FINISHED.has(String(s.runtimeStatus))) return;
      await client.startNew(OFFLINE_FUNCTIONS.orchestrator, { instanceId, input });
    },
    async wake(instanceId) {
      const s = await statusOf(instanceId);
      if (!s) return 'missing';
      if (FINISHED.has(String(s.runtimeStatus))) return 'finished';
      await client.raiseEvent(instanceId, WAKE_EVENT, {});
      return 'woken';
    },
  };
}

function p(ctx: ApiRequestContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw new Error(`route parameter ${name} is missing`);
  return value;
}

/** Runs an operation with OFFLINE.* errors mapped to API codes. */
function op(
  def: Omit<ApiOperation, 'handle' | 'scope'>,
  run: (ctx: ApiRequestContext, s: ReturnType<typeof offlineDepsOrThrow>['service']) => Promise<ApiResult>,
): ApiOperation {
  return {
    ...def,
    scope: 'vault',
    handle: async (ctx) => {
      try {
        return await run(ctx, offlineDepsOrThrow().service);
      } catch (err) {
        throw toApiError(err);
      }
    },
  };
}

const subVault = (ctx: ApiRequestContext) => [p(ctx, 'subscriptionId'), p(ctx, 'vaultName')] as const;

export const OFFLINE_OPERATIONS: readonly ApiOperation[] = [
  op(
    {
      name: 'vaultCredentials-create',
      method: 'POST',
      route: `${VAULT}/vaultCredentials`,
      action: 'protectedItems/write',
    },
    async (ctx, s) => ({ status: 200, body: await s.issueCredentials(ctx.principal, ...subVault(ctx)) }),
  ),
  op(
    { name: 'servers-register', method: 'POST', route: `${SERVER}/register`, action: 'protectedItems/write' },
    async (ctx, s) => ({
      status: 200,
      body: await s.registerServer(ctx.principal, ...subVault(ctx), p(ctx, 'serverName'), ctx.body),
    }),
  ),
  op(
    { name: 'servers-get', method: 'GET', route: SERVER, action: 'protectedItems/read' },
    async (ctx, s) => ({ status: 200, body: await s.getServer(...subVault(ctx), p(ctx, 'serverName')) }),
  ),
  op(
    {
      name: 'servers-dataAccess',
      method: 'POST',
      route: `${SERVER}/dataAccess`,
      action: 'protectedItems/backup',
    },
    async (ctx, s) => ({ status: 200, body: await s.dataAccessFor(...subVault(ctx), p(ctx, 'serverName')) }),
  ),
  op(
    { name: 'servers-protect', method: 'POST', route: `${SERVER}/protect`, action: 'protectedItems/write' },
    async (ctx, s) => ({
      status: 200,
      body: await s.protect(...subVault(ctx), p(ctx, 'serverName'), ctx.body),
    }),
  ),
  op(
    { name: 'servers-events', method: 'POST', route: `${SERVER}/events`, action: 'protectedItems/backup' },
    async (ctx, s) => ({
      status: 200,
      body: await s.postEvent(...subVault(ctx), p(ctx, 'serverName'), ctx.body),
    }),
  ),
  op(
    {
      name: 'offlineBackups-list',
      method: 'GET',
      route: `${VAULT}/offlineBackups`,
      action: 'protectedItems/read',
    },
    async (ctx, s) => ({ status: 200, page: { value: await s.listOfflineBackups(...subVault(ctx)) } }),
  ),
  op(
    {
      name: 'offlineBackups-get',
      method: 'GET',
      route: `${VAULT}/offlineBackups/{importJobName}`,
      action: 'protectedItems/read',
    },
    async (ctx, s) => ({
      status: 200,
      body: await s.getOfflineBackup(...subVault(ctx), p(ctx, 'importJobName')),
    }),
  ),
  op(
    {
      name: 'offlineBackups-put',
      method: 'PUT',
      route: `${VAULT}/offlineBackups/{importJobName}`,
      action: 'protectedItems/write',
    },
    async (ctx, s) => {
      const r = await s.putOfflineBackup(
        durableWorkflow(ctx.durable),
        ...subVault(ctx),
        p(ctx, 'importJobName'),
        ctx.body,
      );
      // A long operation: 202 with the (first) item's OfflineSeeding job as the async operation.
      return { status: 202, accepted: { jobId: r.jobId }, body: r.resource };
    },
  ),
  op(
    { name: 'importJobs-list', method: 'GET', route: `${VAULT}/importJobs`, action: 'jobs/read' },
    async (ctx, s) => ({ status: 200, page: { value: await s.listImportJobs(...subVault(ctx)) } }),
  ),
  op(
    {
      name: 'importJobs-get',
      method: 'GET',
      route: `${VAULT}/importJobs/{importJobName}`,
      action: 'jobs/read',
    },
    async (ctx, s) => ({
      status: 200,
      body: await s.getImportJob(...subVault(ctx), p(ctx, 'importJobName')),
    }),
  ),
  op(
    {
      name: 'importJobs-put',
      method: 'PUT',
      route: `${VAULT}/importJobs/{importJobName}`,
      action: 'protectedItems/write',
    },
    async (ctx, s) => ({
      status: 200,
      body: await s.putImportJob(
        durableWorkflow(ctx.durable),
        ...subVault(ctx),
        p(ctx, 'importJobName'),
        ctx.body,
      ),
    }),
  ),
  op(
    {
      name: 'importJobs-shippingDetails',
      method: 'PUT',
      route: `${VAULT}/importJobs/{importJobName}/shippingDetails`,
      action: 'protectedItems/write',
    },
    async (ctx, s) => ({
      status: 200,
      body: await s.putShipping(
        durableWorkflow(ctx.durable),
        ...subVault(ctx),
        p(ctx, 'importJobName'),
        ctx.body,
      ),
    }),
  ),
];
