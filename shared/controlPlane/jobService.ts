// Jobs: one row per operation a workflow runs (Azure Backup's "Backup jobs"), and the vault dashboard.
// Filterable fields (operation, status, itemName, startTime) are top-level strings so the store filters
// them on the server; job ids are time-ordered, so a vault's jobs list oldest first.
import { ApiError } from './apiErrors';
import type { ControlPlaneDeps } from './controlPlanePorts';
import { CONTROL_PLANE_TABLE, NAME_RULES, rowKeys } from './names';
import { encodeSkipToken, withSkipToken, type Page, type PageRequest } from './paging';
import { vaultService } from './vaultService';
import type { FieldCondition } from '../state/stateStore';
import type { ItemDoc } from './itemService';
import { queryAll } from '../state/queryAll';

export const JOB_OPERATIONS = [
  'Discover',
  'Register',
  'ConfigureProtection',
  'Backup',
  'Restore',
  'OfflineSeeding',
  'DeleteBackupData',
  // the scheduled check of a vault's data (docs/verify.md); one per vault per run, no item
  'Verify',
] as const;
export type JobOperation = (typeof JOB_OPERATIONS)[number];
/**
 * `Queued`: accepted, waiting for another operation on the same item to finish (one operation per item
 * at a time). ARM clients see it as InProgress (operationStatus.ts); the dashboard counts it as one.
 */
export const JOB_STATUSES = ['Queued', 'InProgress', 'Completed', 'Failed', 'Cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** Statuses in which a job has not ended yet. */
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ['Queued', 'InProgress'];
/**
 * Operations whose jobs can be cancelled (Azure Backup cancels backup and restore jobs only). The
 * others are short, or change item state in steps that must not stop half-way (protection, register),
 * or have their own cancel (offline seeding: its import job).
 */
export const CANCELLABLE_JOB_OPERATIONS: readonly JobOperation[] = ['Backup', 'Restore'];

export const DASHBOARD_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface JobDoc {
  readonly jobId: string;
  readonly vaultName: string;
  readonly subscriptionId: string;
  readonly operation: JobOperation;
  readonly status: JobStatus;
  readonly itemName?: string;
  readonly startTime: string;
  readonly endTime?: string;
  readonly durationMs?: number;
  readonly bytesTransferred: number;
  readonly progressPercent: number;
  readonly error?: { readonly code: string; readonly message: string };
  /** The Durable Functions instance running the job, for support and cancellation. */
  readonly durableInstanceId?: string;
  /** Operation-specific figures (Azure's job "extendedInfo"), e.g. bytesRead, consistency, pointId. */
  readonly extendedInfo?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Set by a cancel request. The workflow sees it at its next checkpoint (before it runs, and after
   * each batch of transfer segments), undoes what it started, and ends the job `Cancelled`.
   */
  readonly cancelRequested?: { readonly time: string; readonly by: string };
  /** What a running job is waiting for or doing, in words ("Waiting for import job to complete"). */
  readonly statusDetail?: string;
  readonly [field: string]: unknown;
}

export interface JobResource {
  readonly id: string;
  readonly name: string;
  readonly type: 'Strongbox/vaults/jobs';
  readonly etag: string;
  readonly properties: Omit<JobDoc, 'jobId' | 'vaultName' | 'subscriptionId'>;
}

export function jobResourceOf(doc: JobDoc, etag: string): JobResource {
  const { jobId, vaultName, subscriptionId, ...properties } = doc;
  return {
    id: `/subscriptions/${subscriptionId}/vaults/${vaultName}/jobs/${jobId}`,
    name: jobId,
    type: 'Strongbox/vaults/jobs',
    etag,
    properties,
  };
}

export interface JobFilter {
  readonly operation?: JobOperation;
  readonly status?: JobStatus;
  readonly itemName?: string;
  /** Inclusive lower bound on startTime (ISO-8601 UTC). */
  readonly startFrom?: string;
  /** Exclusive upper bound on startTime. */
  readonly startTo?: string;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function isoParam(name: string, value: string): string {
  const d = new Date(value);
  if (!ISO_UTC.test(value) || Number.isNaN(d.getTime())) {
    throw new ApiError(
      'InvalidParameter',
      `${name} must be an ISO-8601 UTC time such as 2024-05-01T00:00:00Z`,
      name,
    );
  }
  return d.toISOString();
}

/** Query-string filter -> JobFilter; 400 naming the parameter and rule for anything unknown. */
export function parseJobFilter(query: { get(name: string): string | null }): JobFilter {
  const filter: { -readonly [K in keyof JobFilter]: JobFilter[K] } = {};
  const operation = query.get('operation');
  if (operation !== null) {
    if (!(JOB_OPERATIONS as readonly string[]).includes(operation)) {
      throw new ApiError(
        'InvalidParameter',
        `operation must be one of ${JOB_OPERATIONS.join(', ')}`,
        'operation',
      );
    }
    filter.operation = operation as JobOperation;
  }
  const status = query.get('status');
  if (status !== null) {
    if (!(JOB_STATUSES as readonly string[]).includes(status)) {
      throw new ApiError('InvalidParameter', `status must be one of ${JOB_STATUSES.join(', ')}`, 'status');
    }
    filter.status = status as JobStatus;
  }
  const item = query.get('itemName');
  if (item !== null) {
    if (!NAME_RULES.itemName.pattern.test(item))
      throw new ApiError('InvalidParameter', `itemName ${NAME_RULES.itemName.rule}`, 'itemName');
    filter.itemName = item;
  }
  const from = query.get('startFrom');
  if (from !== null) filter.startFrom = isoParam('startFrom', from);
  const to = query.get('startTo');
  if (to !== null) filter.startTo = isoParam('startTo', to);
  if (filter.startFrom !== undefined && filter.startTo !== undefined && filter.startFrom >= filter.startTo) {
    throw new ApiError('InvalidParameter', 'startTo must be later than startFrom', 'startTo');
  }
  return filter;
}

function conditionsOf(f: JobFilter): FieldCondition[] {
  const c: FieldCondition[] = [];
  if (f.operation) c.push({ field: 'operation', op: 'eq', value: f.operation });
  if (f.status) c.push({ field: 'status', op: 'eq', value: f.status });
  if (f.itemName) c.push({ field: 'itemName', op: 'eq', value: f.itemName });
  if (f.startFrom) c.push({ field: 'startTime', op: 'ge', value: f.startFrom });
  if (f.startTo) c.push({ field: 'startTime', op: 'lt', value: f.startTo });
  return c;
}

export interface StartJobInput {
  readonly operation: JobOperation;
  readonly itemName?: string;
  readonly durableInstanceId?: string;
  /** A caller-chosen id (a time-ordered UUID), so a workflow can name its job before creating it. */
  readonly jobId?: string;
  /** Default InProgress; Queued for an operation that waits for its item. */
  readonly status?: 'Queued' | 'InProgress';
}

export interface JobUpdate {
  readonly progressPercent?: number;
  readonly bytesTransferred?: number;
  /** Merged into extendedInfo. */
  readonly extendedInfo?: Readonly<Record<string, string | number | boolean>>;
}

export interface Dashboard {
  readonly protectedItemCount: number;
  readonly jobsLast24Hours: {
    readonly completed: number;
    readonly failed: number;
    readonly inProgress: number;
  };
  readonly windowStart: string;
  readonly windowEnd: string;
}

export interface JobService {
  start(sub: string, vault: string, input: StartJobInput): Promise<JobResource>;
  /**
   * Creates the job with `input.jobId` unless it exists, and returns it either way. Workflows call it
   * from the API handler and again from the orchestration (activities run at least once), so
   * whichever runs first creates the row and neither overwrites the other's progress.
   */
  ensure(sub: string, vault: string, input: StartJobInput & { readonly jobId: string }): Promise<JobResource>;
  /** Queued -> InProgress (no-op if already InProgress). */
  markRunning(sub: string, vault: string, jobId: string): Promise<JobResource>;
  progress(sub: string, vault: string, jobId: string, update: JobUpdate): Promise<JobResource>;
  /**
   * Sets the job's `statusDetail` while it runs. Returns false (and changes nothing) if the job has
   * ended or already says exactly that, so a workflow can call it again after a crash.
   */
  annotate(sub: string, vault: string, jobId: string, statusDetail: string): Promise<boolean>;
  /**
   * Asks the job's workflow to stop (idempotent: a second request keeps the first one's time).
   * 400 JobNotCancellable for an operation that cannot be cancelled or a job that has ended.
   */
  requestCancel(sub: string, vault: string, jobId: string, by: string): Promise<JobResource>;
  finish(
    sub: string,
    vault: string,
    jobId: string,
    outcome: {
      status: Exclude<JobStatus, 'InProgress' | 'Queued'>;
      error?: { code: string; message: string };
      bytesTransferred?: number;
      extendedInfo?: Readonly<Record<string, string | number | boolean>>;
    },
  ): Promise<JobResource>;
  get(sub: string, vault: string, jobId: string): Promise<JobResource>;
  /** The job row (404 JobNotFound), for workflows. */
  read(sub: string, vault: string, jobId: string): Promise<{ doc: JobDoc; etag: string }>;
  list(sub: string, vault: string, filter: JobFilter, page: PageRequest): Promise<Page<JobResource>>;
  dashboard(sub: string, vault: string): Promise<Dashboard>;
}

function clampPercent(p: number): number {
  return Math.min(100, Math.max(0, Math.round(p)));
}

export function jobService(deps: ControlPlaneDeps): JobService {
  const { store, clock, ids } = deps;
  const T = CONTROL_PLANE_TABLE;
  const vaults = vaultService(deps);

  const read = async (sub: string, vault: string, jobId: string) => {
    await vaults.read(sub, vault);
    const row = await store.get<JobDoc>(T, rowKeys.partition(sub), rowKeys.job(vault, jobId));
    if (!row) throw new ApiError('JobNotFound', `The job '${jobId}' was not found.`, 'jobId');
    return row;
  };

  /**
   * Read-modify-write with the row's ETag; a job has one writer (its workflow), so conflicts are rare.
   * `f` returning the row unchanged (a repeated finish, cancel request or annotation) writes nothing.
   */
  const change = async (
    sub: string,
    vault: string,
    jobId: string,
    f: (doc: JobDoc) => JobDoc,
  ): Promise<JobResource> => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const row = await read(sub, vault, jobId);
      const next = f(row.value);
      if (next === row.value) return jobResourceOf(next, row.etag);
      try {
        const etag = await store.update(T, rowKeys.partition(sub), rowKeys.job(vault, jobId), next, row.etag);
        return jobResourceOf(next, etag);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'STATE.PRECONDITION_FAILED') throw err;
      }
    }
    throw new ApiError('ConcurrencyConflict', 'The job was changed by concurrent requests; retry.');
  };

  const newDoc = (v: { doc: { name: string; subscriptionId: string } }, input: StartJobInput): JobDoc => {
    const now = clock.now();
    if (input.jobId !== undefined && !NAME_RULES.jobId.pattern.test(input.jobId)) {
      throw new ApiError('InvalidParameter', `jobId ${NAME_RULES.jobId.rule}`, 'jobId');
    }
    return {
      jobId: input.jobId ?? ids.timeOrdered(now),
      vaultName: v.doc.name,
      subscriptionId: v.doc.subscriptionId,
      operation: input.operation,
      status: input.status ?? 'InProgress',
      ...(input.itemName !== undefined ? { itemName: input.itemName } : {}),
      startTime: now.toISOString(),
      bytesTransferred: 0,
      progressPercent: 0,
      ...(input.durableInstanceId !== undefined ? { durableInstanceId: input.durableInstanceId } : {}),
    };
  };

  return {
    read: async (sub, vault, jobId) => {
      const row = await read(sub, vault, jobId);
      return { doc: row.value, etag: row.etag };
    },
    async ensure(sub, vault, input) {
      const v = await vaults.read(sub, vault);
      const doc = newDoc(v, input);
      const pk = rowKeys.partition(sub);
      try {
        const etag = await store.insert(T, pk, rowKeys.job(vault, doc.jobId), doc);
        return jobResourceOf(doc, etag);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'STATE.ALREADY_EXISTS') throw err;
        const row = await read(sub, vault, doc.jobId);
        return jobResourceOf(row.value, row.etag);
      }
    },
    markRunning(sub, vault, jobId) {
      return change(sub, vault, jobId, (doc) => {
        if (doc.status === 'InProgress') return doc;
        if (doc.status !== 'Queued')
          throw new ApiError(
            'InvalidStateTransition',
            `The job '${jobId}' has already ended (${doc.status}).`,
          );
        return { ...doc, status: 'InProgress' };
      });
    },
    async start(sub, vault, input) {
      const doc = newDoc(await vaults.read(sub, vault), input);
      const etag = await store.insert(T, rowKeys.partition(sub), rowKeys.job(vault, doc.jobId), doc);
      return jobResourceOf(doc, etag);
    },
    progress(sub, vault, jobId, update) {
      return change(sub, vault, jobId, (doc) => {
        if (doc.status !== 'InProgress' && doc.status !== 'Queued')
          throw new ApiError(
            'InvalidStateTransition',
            `The job '${jobId}' has already ended (${doc.status}).`,
          );
        return {
          ...doc,
          ...(update.extendedInfo !== undefined
            ? { extendedInfo: { ...doc.extendedInfo, ...update.extendedInfo } }
            : {}),
          ...(update.progressPercent !== undefined
            ? { progressPercent: clampPercent(update.progressPercent) }
            : {}),
          ...(update.bytesTransferred !== undefined ? { bytesTransferred: update.bytesTransferred } : {}),
        };
      });
    },
    async annotate(sub, vault, jobId, statusDetail) {
      let changed = false;
      await change(sub, vault, jobId, (doc) => {
        changed = ACTIVE_JOB_STATUSES.includes(doc.status) && doc.statusDetail !== statusDetail;
        return changed ? { ...doc, statusDetail } : doc;
      });
      return changed;
    },
    requestCancel(sub, vault, jobId, by) {
      return change(sub, vault, jobId, (doc) => {
        if (!CANCELLABLE_JOB_OPERATIONS.includes(doc.operation)) {
          throw new ApiError(
            'JobNotCancellable',
            `The job '${jobId}' is a ${doc.operation} job; only ${CANCELLABLE_JOB_OPERATIONS.join(' and ')} jobs can be cancelled.`,
            'jobId',
          );
        }
        if (!ACTIVE_JOB_STATUSES.includes(doc.status)) {
          throw new ApiError(
            'JobNotCancellable',
            `The job '${jobId}' has already ended (${doc.status}); only a queued or running job can be cancelled.`,
            'jobId',
          );
        }
        if (doc.cancelRequested) return doc;
        return { ...doc, cancelRequested: { time: clock.now().toISOString(), by } };
      });
    },
    finish(sub, vault, jobId, outcome) {
      return change(sub, vault, jobId, (doc) => {
        // Activities run at least once: finishing twice with the same outcome is a no-op, not an error.
        if (doc.status === outcome.status) return doc;
        if (doc.status !== 'InProgress' && doc.status !== 'Queued')
          throw new ApiError(
            'InvalidStateTransition',
            `The job '${jobId}' has already ended (${doc.status}).`,
          );
        const end = clock.now();
        return {
          ...doc,
          status: outcome.status,
          endTime: end.toISOString(),
          durationMs: Math.max(0, end.getTime() - new Date(doc.startTime).getTime()),
          ...(outcome.status === 'Completed' ? { progressPercent: 100 } : {}),
          ...(outcome.bytesTransferred !== undefined ? { bytesTransferred: outcome.bytesTransferred } : {}),
          ...(outcome.extendedInfo !== undefined
            ? { extendedInfo: { ...doc.extendedInfo, ...outcome.extendedInfo } }
            : {}),
          ...(outcome.error !== undefined ? { error: outcome.error } : {}),
        };
      });
    },
    async get(sub, vault, jobId) {
      const row = await read(sub, vault, jobId);
      return jobResourceOf(row.value, row.etag);
    },
    async list(sub, vault, filter, page) {
      await vaults.read(sub, vault);
      const result = await withSkipToken(page, () =>
        store.query<JobDoc>(T, rowKeys.partition(sub), {
          rowKeyPrefix: rowKeys.jobPrefix(vault),
          where: conditionsOf(filter),
          pageSize: page.top,
          ...(page.storeToken !== undefined ? { continuationToken: page.storeToken } : {}),
        }),
      );
      const value = result.items.map((e) => jobResourceOf(e.value, e.etag));
      const skipToken = encodeSkipToken(result.continuationToken);
      return skipToken === undefined ? { value } : { value, skipToken };
    },
    async dashboard(sub, vault) {
      await vaults.read(sub, vault);
      const end = clock.now();
      const start = new Date(end.getTime() - DASHBOARD_WINDOW_MS).toISOString();
      const counts = { completed: 0, failed: 0, inProgress: 0 };
      const pk = rowKeys.partition(sub);
      const recentJobs = await queryAll<JobDoc>(store, T, pk, {
        rowKeyPrefix: rowKeys.jobPrefix(vault),
        where: [{ field: 'startTime', op: 'ge', value: start }],
      });
      for (const { value } of recentJobs) {
        if (value.status === 'Completed') counts.completed++;
        else if (value.status === 'Failed') counts.failed++;
        // A queued job is as much "in progress" as a running one to the dashboard (ARM has no queued).
        else if (value.status === 'InProgress' || value.status === 'Queued') counts.inProgress++;
      }
      // "Protected" = configured for backup (or holding backup data): every item except one only registered.
      const protectedItems = await queryAll<ItemDoc>(store, T, pk, {
        rowKeyPrefix: rowKeys.itemPrefix(vault),
        where: [{ field: 'protectionState', op: 'ne', value: 'Registered' }],
      });
      const protectedItemCount = protectedItems.length;
      return {
        protectedItemCount,
        jobsLast24Hours: counts,
        windowStart: start,
        windowEnd: end.toISOString(),
      };
    },
  };
}
