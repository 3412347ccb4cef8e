// API operations of the VM workflows (issue 5): discover, register, protect, back up now, restore,
// stop protection (keeping or deleting the data). Long operations answer 202 with the job as the async
// operation (apiOperation.ts). Handlers check what the control plane can answer at once (the vault,
// the item, the policy, discovery) and refuse with a 4xx before anything starts; what depends on the VM
// itself (running, agent, disks) is checked by the workflow and reported in the job.
import { randomBytes } from 'node:crypto';
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import { ApiError } from '../../shared/controlPlane/apiErrors';
import { uuidV7 } from '../../shared/controlPlane/controlPlanePorts';
import type { ItemDoc } from '../../shared/controlPlane/itemService';
import type { JobOperation, JobResource } from '../../shared/controlPlane/jobService';
import { refuseIfImmutable, softDeleteOf } from '../../shared/controlPlane/vaultService';
import { NAME_RULES } from '../../shared/controlPlane/names';
import { invalidBody, parseBody } from '../../shared/controlPlane/requestValidation';
import { hasErrorCode } from '../../shared/errors';
import { ADHOC_RETENTION_MAX_DAYS, MAX_ITEMS_PER_REQUEST } from '../../shared/vm/vmLimits';
import type { BackupInput, RestoreInput, RestoreTarget } from '../../shared/vm/vmWorkflowTypes';
import type { ApiOperation, ApiRequestContext, ApiResult } from '../api/apiOperation';
import { ENDED_STATUSES, instanceStatus } from './durableStatus';
import { discoveryInstanceId, ITEM_TURN_EVENT, operationInstanceId, ORCHESTRATORS } from './names';
import type { ProtectInput } from './protectVm.orchestrator';
import type { RegisterInput } from './registerVm.orchestrator';
import type { StopProtectionInput } from './stopProtection.orchestrator';
import { retentionReduction } from '../../shared/policy/retentionReduction';
import { undeleteItem } from '../../shared/vm/protection';
import { vmDeps } from './vmAppDeps';

const SUB = 'subscriptions/{subscriptionId}';
const VAULT = `${SUB}/vaults/{vaultName}`;
const ITEM = `${VAULT}/protectedItems/{itemName}`;
const DAY_MS = 86_400_000;

function p(ctx: ApiRequestContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw new Error(`route parameter ${name} is missing`);
  return value;
}

const newJobId = () => uuidV7(new Date(), randomBytes(10));

/** Starts an orchestration under a fresh job, then makes sure the job row exists (the orchestration also does). */
async function startJob(
  ctx: ApiRequestContext,
  orchestrator: string,
  instanceId: string,
  input: object,
  job: { jobId: string; operation: JobOperation; itemName?: string; status: 'Queued' | 'InProgress' },
): Promise<JobResource> {
  const sub = p(ctx, 'subscriptionId');
  const vault = p(ctx, 'vaultName');
  await ctx.durable.startNew(orchestrator, { instanceId, input });
  return ctx.cp.jobs.ensure(sub, vault, { ...job, durableInstanceId: instanceId });
}

function accepted(jobs: readonly { jobId: string }[], body: unknown): ApiResult {
  const first = jobs[0];
  if (!first) throw new Error('no job was started');
  return { status: 202, accepted: { jobId: first.jobId }, body };
}

const NamesSchema = (what: string, rule: RegExp, ruleText: string) =>
  z
    .array(
      z.string({ error: `each ${what} must be a string` }).regex(rule, { error: `each ${what} ${ruleText}` }),
      {
        error: `must be an array of ${what}s`,
      },
    )
    .min(1, { error: `must name at least one ${what}` })
    .max(MAX_ITEMS_PER_REQUEST, { error: `must name at most ${MAX_ITEMS_PER_REQUEST} ${what}s` });

/** Names are case-insensitive: the same one twice in a request is a mistake, not two jobs. */
function refuseDuplicates(names: readonly string[], target: string): void {
  const seen = new Set<string>();
  for (const [i, n] of names.entries()) {
    if (seen.has(n.toLowerCase()))
      throw invalidBody([
        { code: 'InvalidRequestBody', target: `${target}.${i}`, message: `${target}.${i} names ${n} twice` },
      ]);
    seen.add(n.toLowerCase());
  }
}

const VM_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const RegisterBody = z.strictObject(
  { vms: NamesSchema('VM name', VM_NAME, 'must be 1-63 lower-case letters, digits or hyphens') },
  { error: 'must be a JSON object' },
);

const ProtectBody = z.strictObject(
  {
    policyName: z
      .string({ error: 'is required (a backup policy name)' })
      .regex(NAME_RULES.policyName.pattern, { error: NAME_RULES.policyName.rule }),
    items: NamesSchema('item name', NAME_RULES.itemName.pattern, NAME_RULES.itemName.rule),
  },
  { error: 'must be a JSON object' },
);

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const BackupBody = z.strictObject(
  {
    retainUntil: z
      .string({ error: 'must be an ISO-8601 UTC time' })
      .regex(ISO_UTC, { error: 'must be an ISO-8601 UTC time such as 2030-01-31T00:00:00Z' })
      .optional(),
  },
  { error: 'must be a JSON object' },
);

const RestoreBody = z.discriminatedUnion(
  'restoreType',
  [
    z.strictObject({
      restoreType: z.literal('NewVm'),
      vmName: z.string({ error: 'is required for NewVm' }).regex(VM_NAME, {
        error: 'must be 1-63 lower-case letters, digits or hyphens',
      }),
    }),
    z.strictObject({ restoreType: z.literal('ReplaceDisks') }),
    z.strictObject({
      restoreType: z.literal('RestoreDisks'),
      containerName: z
        .string({ error: 'is required for RestoreDisks' })
        .regex(/^(?=.{3,63}$)[a-z0-9](?:-?[a-z0-9])*$/, {
          error: 'must be 3-63 lower-case letters, digits and single hyphens (an Azure container name)',
        }),
    }),
  ],
  { error: 'restoreType must be NewVm, ReplaceDisks or RestoreDisks' },
);

/** Actions without parameters take no body, or `{}`; an unknown field is a mistake, not ignored. */
const EmptyBody = z.strictObject({}, { error: 'must be a JSON object (this action takes no parameters)' });

const PROTECTED_STATES = new Set(['ProtectedInitialBackupPending', 'Protected', 'Error']);

async function discoverHandler(ctx: ApiRequestContext): Promise<ApiResult> {
  const sub = p(ctx, 'subscriptionId');
  const vault = p(ctx, 'vaultName');
  parseBody(EmptyBody, ctx.body);
  await ctx.cp.vaults.read(sub, vault);
  const instanceId = discoveryInstanceId(sub, vault);
  const inProgress = () =>
    new ApiError(
      'DiscoveryInProgress',
      `A discovery of the VMs of vault '${vault}' is already in progress. Wait for its job to finish, then retry.`,
      'vaultName',
    );
  const running = async (client: DurableClient) => {
    const s = await instanceStatus(client, instanceId);
    return s !== undefined && !ENDED_STATUSES.has(s);
  };
  if (await running(ctx.durable)) throw inProgress();
  const jobId = newJobId();
  let job: JobResource;
  try {
    job = await startJob(
      ctx,
      ORCHESTRATORS.discover,
      instanceId,
      { sub, vault, jobId },
      {
        jobId,
        operation: 'Discover',
        status: 'InProgress',
      },
    );
  } catch (err) {
    // Two requests raced: the host refuses to start an instance id that is running.
    if (await running(ctx.durable)) throw inProgress();
    throw err;
  }
  return accepted([{ jobId }], job);
}

async function discoveredHandler(ctx: ApiRequestContext): Promise<ApiResult> {
  const sub = p(ctx, 'subscriptionId');
  const vault = p(ctx, 'vaultName');
  const v = await ctx.cp.vaults.read(sub, vault);
  const docs = await vmDeps().state.listDiscovered(sub, vault);
  return {
    status: 200,
    page: {
      value: docs.map((d) => ({
        id: `/subscriptions/${v.doc.subscriptionId}/vaults/${v.doc.name}/discoveredVms/${d.name}`,
        name: d.name,
        type: 'Strongbox/vaults/discoveredVms',
        properties: d,
      })),
    },
  };
}

async function registerHandler(ctx: ApiRequestContext): Promise<ApiResult> {
  const sub = p(ctx, 'subscriptionId');
  const vault = p(ctx, 'vaultName');
  const body = parseBody(RegisterBody, ctx.body);
  refuseDuplicates(body.vms, 'vms');
  const v = await ctx.cp.vaults.read(sub, vault);
  const state = vmDeps().state;
  // Every VM is checked before any job starts: a refused request starts nothing.
  for (const [i, name] of body.vms.entries()) {
    const target = `vms.${i}`;
    const found = await state.getDiscovered(sub, vault, name);
    if (!found) {
      throw new ApiError(
        'VmNotDiscovered',
        `VM '${name}' is not among the discovered VMs of vault '${v.doc.name}'. Run discovery (POST .../discoverVms) first; only VMs in the vault's region (${v.doc.location}) are discovered.`,
        target,
      );
    }
    if (found.region.toLowerCase() !== v.doc.location.toLowerCase()) {
      throw new ApiError(
        'VmNotInVaultRegion',
        `VM '${name}' is in region ${found.region}; vault '${v.doc.name}' protects VMs in ${v.doc.location}.`,
        target,
      );
    }
    const existing = await ctx.cp.items.read(sub, vault, name).catch((err: unknown) => {
      if (hasErrorCode(err, 'ProtectedItemNotFound')) return undefined;
      throw err;
    });
    if (existing) {
      throw new ApiError(
        'VmAlreadyRegistered',
        `VM '${name}' is already registered in vault '${v.doc.name}'.`,
        target,
      );
    }
  }
  const jobs: { vmName: string; jobId: string }[] = [];
  for (const vmName of body.vms) {
    const jobId = newJobId();
    const input: RegisterInput = { sub, vault, vmName, jobId };
    await startJob(ctx, ORCHESTRATORS.register, operationInstanceId('register', jobId), input, {
      jobId,
      operation: 'Register',
      itemName: vmName,
      status: 'InProgress',
    });
    jobs.push({ vmName, jobId });
  }
  return accepted(jobs, { value: jobs });
}

async function protectHandler(ctx: ApiRequestContext): Promise<ApiResult> {
  const sub = p(ctx, 'subscriptionId');
  const vault = p(ctx, 'vaultName');
  const body = parseBody(ProtectBody, ctx.body);
  refuseDuplicates(body.items, 'items');
  const policy = await ctx.cp.policies.read(sub, vault, body.policyName);
  const v = (await ctx.cp.vaults.read(sub, vault)).doc;
  for (const item of body.items) {
    const { doc } = await ctx.cp.items.read(sub, vault, item);
    refuseSoftDeleted(doc);
    // An immutable vault: moving an item to a policy that keeps its points for less is a reduction.
    if (doc.policyName !== undefined && doc.policyName.toLowerCase() !== policy.doc.name.toLowerCase()) {
      const current = await ctx.cp.policies.read(sub, vault, doc.policyName);
      const reduced = retentionReduction(current.doc.policy, policy.doc.policy);
      if (reduced !== undefined)
        refuseIfImmutable(
          v,
          `moving item '${doc.name}' from policy '${current.doc.name}' to '${policy.doc.name}' (${reduced} would keep points for less)`,
          'policyName',
        );
    }
  }
  const jobs: { itemName: string; jobId: string }[] = [];
  for (const item of body.items) {
    const jobId = newJobId();
    const input: ProtectInput = { sub, vault, item, jobId, policyName: policy.doc.name };
    await startJob(ctx, ORCHESTRATORS.protect, operationInstanceId('protect', jobId), input, {
      jobId,
      operation: 'ConfigureProtection',
      itemName: item,
      status: 'Queued',
    });
    jobs.push({ itemName: item, jobId });
  }
  return accepted(jobs, { value: jobs });
}

async function backupHandler(ctx: ApiRequestContext): Promise<ApiResult> {
  const sub = p(ctx, 'subscriptionId');
  const vault = p(ctx, 'vaultName');
  const item = p(ctx, 'itemName');
  const body = parseBody(BackupBody, ctx.body);
  if (body.retainUntil !== undefined) {
    const until = Date.parse(body.retainUntil);
    if (!(until > Date.now()) || until > Date.now() + ADHOC_RETENTION_MAX_DAYS * DAY_MS) {
      throw invalidBody([
        {
          code: 'InvalidRequestBody',
          target: 'retainUntil',
          message: `retainUntil must be in the future and at most ${ADHOC_RETENTION_MAX_DAYS / 365} years ahead`,
        },
      ]);
    }
  }
  const { doc } = await ctx.cp.items.read(sub, vault, item);
  refuseSoftDeleted(doc);
  if (!PROTECTED_STATES.has(doc.protectionState)) {
    throw new ApiError(
      'ItemNotProtected',
      `Item '${doc.name}' is ${doc.protectionState}: configure protection (POST .../protectVms) before backing it up.`,
      'itemName',
    );
  }
  const jobId = newJobId();
  const input: BackupInput = {
    sub,
    vault,
    item: doc.name,
    jobId,
    trigger: 'adhoc',
    ...(body.retainUntil !== undefined ? { retainUntil: new Date(body.retainUntil).toISOString() } : {}),
  };
  const job = await startJob(ctx, ORCHESTRATORS.backup, operationInstanceId('backup', jobId), input, {
    jobId,
    operation: 'Backup',
    itemName: doc.name,
    status: 'Queued',
  });
  return accepted([{ jobId }], job);
}

async function restoreHandler(ctx: ApiRequestContext): Promise<ApiResult> {
  const sub = p(ctx, 'subscriptionId');
  const vault = p(ctx, 'vaultName');
  const item = p(ctx, 'itemName');
  const target = parseBody(RestoreBody, ctx.body) as RestoreTarget;
  refuseSoftDeleted((await ctx.cp.items.read(sub, vault, item)).doc);
  const point = await ctx.cp.recoveryPoints.get(sub, vault, item, p(ctx, 'recoveryPointId'));
  const jobId = newJobId();
  const input: RestoreInput = {
    sub,
    vault,
    item: String(point.properties.itemName),
    jobId,
    recoveryPointId: point.name,
    target,
  };
  const job = await startJob(ctx, ORCHESTRATORS.restore, operationInstanceId('restore', jobId), input, {
    jobId,
    operation: 'Restore',
    itemName: input.item,
    status: 'Queued',
  });
  return accepted([{ jobId }], job);
}

function stopHandler(deleteData: boolean) {
  return async (ctx: ApiRequestContext): Promise<ApiResult> => {
    const sub = p(ctx, 'subscriptionId');
    const vault = p(ctx, 'vaultName');
    const item = p(ctx, 'itemName');
    parseBody(EmptyBody, ctx.body ?? {});
    const { doc } = await ctx.cp.items.read(sub, vault, item);
    const v = (await ctx.cp.vaults.read(sub, vault)).doc;
    // An item without backup data (only registered) may always be removed: a Locked vault must stay deletable.
    if (deleteData && (doc.recoveryPointCount > 0 || doc.protectionState === 'SoftDeleted'))
      refuseIfImmutable(v, `deleting the backup data of item '${doc.name}'`, 'itemName');
    // A soft-deleted item is deleted for good only once the vault's soft delete is Disabled.
    if (!deleteData || softDeleteOf(v).state !== 'Disabled') refuseSoftDeleted(doc);
    if (!deleteData && doc.protectionState === 'Registered') {
      throw new ApiError(
        'ItemNotProtected',
        `Item '${doc.name}' is registered but not protected.`,
        'itemName',
      );
    }
    const jobId = newJobId();
    const input: StopProtectionInput = { sub, vault, item: doc.name, jobId, deleteData };
    const operation: JobOperation = deleteData ? 'DeleteBackupData' : 'ConfigureProtection';
    const job = await startJob(
      ctx,
      ORCHESTRATORS.stopProtection,
      operationInstanceId(deleteData ? 'deletedata' : 'stopprotection', jobId),
      input,
      { jobId, operation, itemName: doc.name, status: 'Queued' },
    );
    return accepted([{ jobId }], job);
  };
}

function refuseSoftDeleted(doc: ItemDoc): void {
  if (doc.protectionState !== 'SoftDeleted') return;
  throw new ApiError(
    'ItemSoftDeleted',
    `Item '${doc.name}' is soft deleted (its backup data is kept until ${doc.purgeAfter ?? 'the end of the soft-delete period'}): undelete it first (POST .../protectedItems/${doc.name}/undelete).`,
    'itemName',
  );
}

/**
 * Undelete a soft-deleted item: back to "protection stopped, data retained" with every recovery point,
 * at once (no data moves). 409 InvalidStateTransition for an item that is not soft deleted, or whose
 * purge has begun.
 */
async function undeleteHandler(ctx: ApiRequestContext): Promise<ApiResult> {
  const sub = p(ctx, 'subscriptionId');
  const vault = p(ctx, 'vaultName');
  const item = p(ctx, 'itemName');
  parseBody(EmptyBody, ctx.body ?? {});
  await undeleteItem(vmDeps(), sub, vault, item);
  return { status: 200, body: await ctx.cp.items.get(sub, vault, item) };
}

/**
 * Cancel a backup or restore job (Azure's "cancel job"). The request is recorded on the job; its
 * workflow stops at its next checkpoint (a queued one at once: the turn event wakes it to look),
 * undoes what it started, and ends the job Cancelled. 202 with the job as the async operation.
 */
async function cancelJobHandler(ctx: ApiRequestContext): Promise<ApiResult> {
  const sub = p(ctx, 'subscriptionId');
  const vault = p(ctx, 'vaultName');
  const jobId = p(ctx, 'jobId');
  parseBody(EmptyBody, ctx.body ?? {});
  const job = await ctx.cp.jobs.requestCancel(sub, vault, jobId, ctx.principal.id);
  const props = job.properties as { status?: string; durableInstanceId?: string };
  if (props.status === 'Queued' && props.durableInstanceId !== undefined) {
    const status = await instanceStatus(ctx.durable, props.durableInstanceId);
    if (status !== undefined && !ENDED_STATUSES.has(status)) {
      // Best effort: a queued workflow also looks on its own every QUEUE_RECHECK_MS.
      await ctx.durable
        .raiseEvent(props.durableInstanceId, ITEM_TURN_EVENT, { cancel: jobId })
        .catch(() => undefined);
    }
  }
  return accepted([{ jobId }], job);
}

export const VM_OPERATIONS: readonly ApiOperation[] = [
  {
    name: 'vms-discover',
    method: 'POST',
    route: `${VAULT}/discoverVms`,
    action: 'protectedItems/write',
    scope: 'vault',
    handle: discoverHandler,
  },
  {
    name: 'vms-discovered-list',
    method: 'GET',
    route: `${VAULT}/discoveredVms`,
    action: 'protectedItems/read',
    scope: 'vault',
    handle: discoveredHandler,
  },
  {
    name: 'vms-register',
    method: 'POST',
    route: `${VAULT}/registerVms`,
    action: 'protectedItems/write',
    scope: 'vault',
    handle: registerHandler,
  },
  {
    name: 'vms-protect',
    method: 'POST',
    route: `${VAULT}/protectVms`,
    action: 'protectedItems/write',
    scope: 'vault',
    handle: protectHandler,
  },
  {
    name: 'items-backup',
    method: 'POST',
    route: `${ITEM}/backup`,
    action: 'protectedItems/backup',
    scope: 'vault',
    handle: backupHandler,
  },
  {
    name: 'recoveryPoints-restore',
    method: 'POST',
    route: `${ITEM}/recoveryPoints/{recoveryPointId}/restore`,
    action: 'recoveryPoints/restore',
    scope: 'vault',
    handle: restoreHandler,
  },
  {
    name: 'items-stopProtection',
    method: 'POST',
    route: `${ITEM}/stopProtection`,
    action: 'protectedItems/stopProtection',
    scope: 'vault',
    handle: stopHandler(false),
  },
  {
    name: 'items-undelete',
    method: 'POST',
    route: `${ITEM}/undelete`,
    action: 'protectedItems/undelete',
    scope: 'vault',
    handle: undeleteHandler,
  },
  {
    name: 'jobs-cancel',
    method: 'POST',
    route: `${VAULT}/jobs/{jobId}/cancel`,
    action: 'jobs/cancel',
    scope: 'vault',
    handle: cancelJobHandler,
  },
  {
    name: 'items-deleteBackupData',
    method: 'DELETE',
    route: ITEM,
    action: 'protectedItems/deleteBackupData',
    scope: 'vault',
    handle: stopHandler(true),
  },
];
