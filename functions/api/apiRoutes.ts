// Every control-plane API operation, in one list (the route registry). Handlers are thin: decode the
// request, call shared/controlPlane, shape the answer. Authentication, authorization, name checks, body
// limits and error mapping happen once, in apiHandler.ts.
import type { Scope } from '../../shared/auth/roleAssignments';
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
const NAME = '{roleAssignmentName}';

/** Route parameter values; apiHandler has checked each against its name rule before any handler runs. */
function p(ctx: ApiRequestContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw new Error(`route parameter ${name} is missing`);
  return value;
}

const page = (ctx: ApiRequestContext) => parsePageRequest(ctx.query.get('$top'), ctx.query.get('$skipToken'));
/** The route's scope: the subscription, or the vault when the route has one. */
const scopeOf = (ctx: ApiRequestContext): Scope => {
  const vaultName = ctx.params.vaultName;
  const subscriptionId = p(ctx, 'subscriptionId');
  return vaultName === undefined ? { subscriptionId } : { subscriptionId, vaultName };
};
const pre = (ctx: ApiRequestContext) => ({
  ...(ctx.ifMatch !== undefined ? { ifMatch: ctx.ifMatch } : {}),
  ...(ctx.ifNoneMatch !== undefined ? { ifNoneMatch: ctx.ifNoneMatch } : {}),
});

/**
 * Role assignments, at subscription scope (`subscriptions/{sub}/roleAssignments`) and at vault scope
 * (`.../vaults/{vault}/roleAssignments`): the same four operations at each. Only Owner may write or delete
 * (roles.ts); the caller's role must hold at the route's scope, like every other route.
 */
function roleAssignmentOperations(prefix: string, base: string): ApiOperation[] {
  return [
    {
      name: `${prefix}-list`,
      method: 'GET',
      route: `${base}/roleAssignments`,
      action: 'roleAssignments/read',
      scope: 'vault',
      handle: async (ctx) => ({ status: 200, page: await ctx.cp.assignments.list(scopeOf(ctx), page(ctx)) }),
    },
    {
      name: `${prefix}-get`,
      method: 'GET',
      route: `${base}/roleAssignments/${NAME}`,
      action: 'roleAssignments/read',
      scope: 'vault',
      handle: async (ctx) => {
        const r = await ctx.cp.assignments.get(scopeOf(ctx), p(ctx, 'roleAssignmentName'));
        return { status: 200, body: r, etag: r.etag };
      },
    },
    {
      name: `${prefix}-put`,
      method: 'PUT',
      route: `${base}/roleAssignments/${NAME}`,
      action: 'roleAssignments/write',
      scope: 'vault',
      handle: async (ctx) => {
        const { created, resource } = await ctx.cp.assignments.put(
          scopeOf(ctx),
          p(ctx, 'roleAssignmentName'),
          ctx.body,
          pre(ctx),
        );
        return { status: created ? 201 : 200, body: resource, etag: resource.etag };
      },
    },
    {
      name: `${prefix}-delete`,
      method: 'DELETE',
      route: `${base}/roleAssignments/${NAME}`,
      action: 'roleAssignments/delete',
      scope: 'vault',
      handle: async (ctx) => {
        await ctx.cp.assignments.delete(scopeOf(ctx), p(ctx, 'roleAssignmentName'), pre(ctx));
        return { status: 200 };
      },
    },
  ];
}

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
  // --- role assignments -------------------------------------------------------------------------------
  ...roleAssignmentOperations('roleAssignments', SUB),
  ...roleAssignmentOperations('vaultRoleAssignments', VAULT),
];

/** Every operation the app serves: functions/index.ts registers exactly this list. */
export const API_OPERATIONS: readonly ApiOperation[] = [
  ...CONTROL_PLANE_OPERATIONS,
  ...VM_OPERATIONS,
  ...OFFLINE_OPERATIONS,
];
