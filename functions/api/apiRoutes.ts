// Every control-plane API operation, in one list (the route registry). Handlers are thin: decode the
// request, call shared/controlPlane, shape the answer. Authentication, authorization, name checks, body
// limits and error mapping happen once, in apiHandler.ts.
import { parseJobFilter } from '../../shared/controlPlane/jobService';
import { parsePageRequest } from '../../shared/controlPlane/paging';
import { operationStatusOf } from '../../shared/controlPlane/operationStatus';
import { OFFLINE_OPERATIONS } from '../offline/offlineRoutes';
import { VM_OPERATIONS } from '../vm/vmRoutes';
import type { ApiOperation, ApiRequestContext } from './apiOperation';

const SUB = 'subscriptions/{subscriptionId}';
const VAULT = `${SUB}/vaults/{vaultName}`;
const POLICY = `${VAULT}/backupPolicies/{policyName}`;
const ITEM = `${VAULT}/protectedItems/{itemName}`;

/** Route parameter values; apiHandler has checked each against its name rule before any handler runs. */
function p(ctx: ApiRequestContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw new Error(`route parameter ${name} is missing`);
  return value;
}

const page = (ctx: ApiRequestContext) => parsePageRequest(ctx.query.get('$top'), ctx.query.get('$skipToken'));
const pre = (ctx: ApiRequestContext) => ({
  ...(ctx.ifMatch !== undefined ? { ifMatch: ctx.ifMatch } : {}),
  ...(ctx.ifNoneMatch !== undefined ? { ifNoneMatch: ctx.ifNoneMatch } : {}),
});

export const CONTROL_PLANE_OPERATIONS: readonly ApiOperation[] = [
  // --- vaults -----------------------------------------------------------------------------------------
  {
    name: 'vaults-list',
    method: 'GET',
    route: `${SUB}/vaults`,
    action: 'vaults/read',
    scope: 'vaultList',
    handle: async (ctx) => ({
      status: 200,
      page: await ctx.cp.vaults.list(p(ctx, 'subscriptionId'), page(ctx), ctx.visibleVaults),
    }),
  },
  {
    name: 'vaults-get',
    method: 'GET',
    route: VAULT,
    action: 'vaults/read',
    scope: 'vault',
    handle: async (ctx) => {
      const r = await ctx.cp.vaults.get(p(ctx, 'subscriptionId'), p(ctx, 'vaultName'));
      return { status: 200, body: r, etag: r.etag };
    },
  },
  {
    name: 'vaults-put',
    method: 'PUT',
    route: VAULT,
    action: 'vaults/write',
    scope: 'vault',
    handle: async (ctx) => {
      const { created, resource } = await ctx.cp.vaults.put(
        p(ctx, 'subscriptionId'),
        p(ctx, 'vaultName'),
        ctx.body,
        pre(ctx),
      );
      return { status: created ? 201 : 200, body: resource, etag: resource.etag };
    },
  },
  {
    name: 'vaults-delete',
    method: 'DELETE',
    route: VAULT,
    action: 'vaults/delete',
    scope: 'vault',
    handle: async (ctx) => {
      await ctx.cp.vaults.delete(p(ctx, 'subscriptionId'), p(ctx, 'vaultName'), pre(ctx));
      return { status: 200 };
    },
  },
  {
    name: 'vaults-dashboard',
    method: 'GET',
    route: `${VAULT}/dashboard`,
    action: 'vaults/read',
    scope: 'vault',
    handle: async (ctx) => ({
      status: 200,
      body: await ctx.cp.jobs.dashboard(p(ctx, 'subscriptionId'), p(ctx, 'vaultName')),
    }),
  },
  // --- backup policies --------------------------------------------------------------------------------
  {
    name: 'policies-list',
    method: 'GET',
    route: `${VAULT}/backupPolicies`,
    action: 'backupPolicies/read',
    scope: 'vault',
    handle: async (ctx) => ({
      status: 200,
      page: await ctx.cp.policies.list(p(ctx, 'subscriptionId'), p(ctx, 'vaultName'), page(ctx)),
    }),
  },
  {
    name: 'policies-get',
    method: 'GET',
    route: POLICY,
    action: 'backupPolicies/read',
    scope: 'vault',
    handle: async (ctx) => {
      const r = await ctx.cp.policies.get(
        p(ctx, 'subscriptionId'),
        p(ctx, 'vaultName'),
        p(ctx, 'policyName'),
      );
      return { status: 200, body: r, etag: r.etag };
    },
  },
  {
    name: 'policies-put',
    method: 'PUT',
    route: POLICY,
    action: 'backupPolicies/write',
    scope: 'vault',
    handle: async (ctx) => {
      const { created, resource } = await ctx.cp.policies.put(
        p(ctx, 'subscriptionId'),
        p(ctx, 'vaultName'),
        p(ctx, 'policyName'),
        ctx.body,
        pre(ctx),
      );
      return { status: created ? 201 : 200, body: resource, etag: resource.etag };
    },
  },
  {
    name: 'policies-delete',
    method: 'DELETE',
    route: POLICY,
    action: 'backupPolicies/delete',
    scope: 'vault',
    handle: async (ctx) => {
      await ctx.cp.policies.delete(
        p(ctx, 'subscriptionId'),
        p(ctx, 'vaultName'),
        p(ctx, 'policyName'),
        pre(ctx),
      );
      return { status: 200 };
    },
  },
  // --- read models: protected items, recovery points, jobs ---------------------------------------------
  {
    name: 'items-list',
    method: 'GET',
    route: `${VAULT}/protectedItems`,
    action: 'protectedItems/read',
    scope: 'vault',
    handle: async (ctx) => ({
      status: 200,
      page: await ctx.cp.items.list(p(ctx, 'subscriptionId'), p(ctx, 'vaultName'), page(ctx)),
    }),
  },
  {
    name: 'items-get',
    method: 'GET',
    route: ITEM,
    action: 'protectedItems/read',
    scope: 'vault',
    handle: async (ctx) => {
      const r = await ctx.cp.items.get(p(ctx, 'subscriptionId'), p(ctx, 'vaultName'), p(ctx, 'itemName'));
      return { status: 200, body: r, etag: r.etag };
    },
  },
  {
    name: 'recoveryPoints-list',
    method: 'GET',
    route: `${ITEM}/recoveryPoints`,
    action: 'recoveryPoints/read',
    scope: 'vault',
    handle: async (ctx) => ({
      status: 200,
      page: await ctx.cp.recoveryPoints.list(
        p(ctx, 'subscriptionId'),
        p(ctx, 'vaultName'),
        p(ctx, 'itemName'),
        page(ctx),
      ),
    }),
  },
  {
    name: 'recoveryPoints-get',
    method: 'GET',
    route: `${ITEM}/recoveryPoints/{recoveryPointId}`,
    action: 'recoveryPoints/read',
    scope: 'vault',
    handle: async (ctx) => ({
      status: 200,
      body: await ctx.cp.recoveryPoints.get(
        p(ctx, 'subscriptionId'),
        p(ctx, 'vaultName'),
        p(ctx, 'itemName'),
        p(ctx, 'recoveryPointId'),
      ),
    }),
  },
  {
    name: 'jobs-list',
    method: 'GET',
    route: `${VAULT}/jobs`,
    action: 'jobs/read',
    scope: 'vault',
    handle: async (ctx) => ({
      status: 200,
      page: await ctx.cp.jobs.list(
        p(ctx, 'subscriptionId'),
        p(ctx, 'vaultName'),
        parseJobFilter(ctx.query),
        page(ctx),
      ),
    }),
  },
  {
    name: 'jobs-get',
    method: 'GET',
    route: `${VAULT}/jobs/{jobId}`,
    action: 'jobs/read',
    scope: 'vault',
    handle: async (ctx) => {
      const r = await ctx.cp.jobs.get(p(ctx, 'subscriptionId'), p(ctx, 'vaultName'), p(ctx, 'jobId'));
      return { status: 200, body: r, etag: r.etag };
    },
  },
  {
    name: 'operationStatus-get',
    method: 'GET',
    route: `${VAULT}/operationStatus/{jobId}`,
    action: 'jobs/read',
    scope: 'vault',
    handle: async (ctx) => {
      const job = await ctx.cp.jobs.get(p(ctx, 'subscriptionId'), p(ctx, 'vaultName'), p(ctx, 'jobId'));
      return { status: 200, body: operationStatusOf(job) };
    },
  },
];

/** Every operation the app serves: functions/index.ts registers exactly this list. */
export const API_OPERATIONS: readonly ApiOperation[] = [
  ...CONTROL_PLANE_OPERATIONS,
  ...VM_OPERATIONS,
  ...OFFLINE_OPERATIONS,
];
