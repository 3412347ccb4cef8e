// The steps of one offline backup's workflow, each what one durable activity does (functions/offline
// wraps them). Every step is idempotent (activities run at least once) and takes the workflow's time as
// `now` (the orchestration's clock): nothing here reads a clock for a deadline. Expected outcomes are
// returned as { ok: false, code, message }; only what is worth retrying is thrown.
import type { BlobStore } from '../blob/blobStore';
import type { ControlPlane } from '../controlPlane/controlPlane';
import { sameName } from '../controlPlane/names';
import { hasErrorCode } from '../errors';
import { nextRunTimes } from '../policy/schedule';
import { addPointOnce, manifestRefOf } from './helperEvents';
import { copyImportUnit, type CopyResult, type CopyUnit } from './importCopy';
import type { ImportService } from './importService';
import {
  TERMINAL_STATES,
  jobDetailOf,
  type OfflineBackupDoc,
  type OfflineBackupState,
} from './offlineBackup';
import { OFFLINE_ERROR_CODES } from './offlineErrors';
import type { OfflineStore } from './offlineStore';

export type StepResult<T> = ({ ok: true } & T) | { ok: false; code: string; message: string };

export interface OfflineStepDeps {
  readonly cp: ControlPlane;
  readonly store: OfflineStore;
  readonly imports: () => ImportService;
  /** The import container (the datacenter's destination) of a job. */
  readonly importContainer: (storageAccount: string, container: string) => BlobStore;
  readonly serverVault: (sub: string, vault: string, serverId: string) => BlobStore;
  /** Sets the item jobs' status text (offlineService.annotateJobs). */
  readonly annotateJobs: (doc: OfflineBackupDoc, detail: string) => Promise<void>;
}

/** What the orchestration needs to decide: facts and the deadlines it set. */
export interface WorkflowView {
  readonly state: OfflineBackupState;
  readonly importJobCreated: boolean;
  readonly shippingEntered: boolean;
  readonly stagingDeadline?: string;
  readonly trackingDeadline?: string;
  readonly drivesDeadline?: string;
  readonly scheduledCopyTime?: string;
}

export interface WorkflowPatch {
  readonly state?: OfflineBackupState;
  readonly stagingDeadline?: string;
  readonly trackingDeadline?: string;
  readonly drivesDeadline?: string;
  readonly importCompletedTime?: string;
  readonly scheduledCopyTime?: string;
  readonly copy?: CopyResult;
  readonly stagingDeletable?: boolean;
}

function viewOf(d: OfflineBackupDoc): WorkflowView {
  return {
    state: d.state,
    importJobCreated: d.importJobCreatedTime !== undefined,
    shippingEntered: d.shipping !== undefined,
    ...(d.stagingDeadline ? { stagingDeadline: d.stagingDeadline } : {}),
    ...(d.trackingDeadline ? { trackingDeadline: d.trackingDeadline } : {}),
    ...(d.drivesDeadline ? { drivesDeadline: d.drivesDeadline } : {}),
    ...(d.scheduledCopyTime ? { scheduledCopyTime: d.scheduledCopyTime } : {}),
  };
}

function serverGone(doc: OfflineBackupDoc): { ok: false; code: string; message: string } {
  return {
    ok: false,
    code: OFFLINE_ERROR_CODES.SERVER_NOT_FOUND,
    message: `server ${doc.serverName} is no longer registered`,
  };
}

function missing(name: string): { ok: false; code: string; message: string } {
  return {
    ok: false,
    code: OFFLINE_ERROR_CODES.JOB_NOT_FOUND,
    message: `offline backup ${name} does not exist`,
  };
}

/** Point ids start with their creation time in milliseconds (docs/format.md). */
function pointTimeOf(pointId: string): string {
  return new Date(Number(pointId.slice(0, 13))).toISOString();
}

export function offlineSteps(deps: OfflineStepDeps) {
  const { store, cp } = deps;

  async function load(name: string): Promise<OfflineBackupDoc | undefined> {
    return (await store.getBackup(name))?.doc;
  }

  /**
   * The server the offline backup was created under; undefined if it is no longer registered, or was
   * registered again since (its vault re-created): then it is not the job's server. A job row from
   * before jobs recorded a serverId takes the server of that name.
   */
  async function serverOf(doc: OfflineBackupDoc) {
    const server = await store.getServer(doc.subscriptionId, doc.vaultName, doc.serverName);
    if (!server || (doc.serverId !== undefined && server.doc.serverId !== doc.serverId)) return undefined;
    return server;
  }

  /** Ends the workflow's jobs and row in a terminal state (idempotent). */
  async function end(
    name: string,
    state: 'Expired' | 'Failed',
    error: { code: string; message: string },
    now: Date,
  ): Promise<StepResult<{ state: OfflineBackupState }>> {
    const doc = await store.updateBackup(name, (d) =>
      TERMINAL_STATES.has(d.state) ? undefined : { ...d, state, error, updatedTime: now.toISOString() },
    );
    await deps.annotateJobs(doc, `Import job ${doc.name} ${doc.state === 'Expired' ? 'expired' : 'failed'}`);
    for (const jobId of Object.values(doc.jobIds)) {
      try {
        await cp.jobs.finish(doc.subscriptionId, doc.vaultName, jobId, {
          status: 'Failed',
          error: doc.error ?? error,
        });
      } catch (err) {
        // A job another step already ended differently (Completed) stays as it is.
        if (!hasErrorCode(err, 'InvalidStateTransition') && !hasErrorCode(err, 'JobNotFound')) throw err;
      }
    }
    return { ok: true, state: doc.state };
  }

  return {
    async loadState(name: string): Promise<StepResult<{ view: WorkflowView }>> {
      const doc = await load(name);
      return doc ? { ok: true, view: viewOf(doc) } : missing(name);
    },

    /** Applies the orchestration's patch; a terminal row is never changed (an expiry wins). */
    async recordState(
      name: string,
      patch: WorkflowPatch,
      now: Date,
    ): Promise<StepResult<{ view: WorkflowView }>> {
      if (!(await load(name))) return missing(name);
      const doc = await store.updateBackup(name, (d) =>
        TERMINAL_STATES.has(d.state) ? undefined : { ...d, ...patch, updatedTime: now.toISOString() },
      );
      if (patch.state !== undefined && !TERMINAL_STATES.has(doc.state)) {
        await deps.annotateJobs(doc, jobDetailOf(doc.state));
      }
      return { ok: true, view: viewOf(doc) };
    },

    /** The import job as of `now` (the emulator moves along its schedule here). */
    async pollImport(
      name: string,
      now: Date,
    ): Promise<StepResult<{ state: string; failedDrives: string[]; bytesTransferred: number }>> {
      try {
        const job = await deps.imports().poll(name, now);
        if (job.deletedAt !== undefined) {
          return {
            ok: false,
            code: OFFLINE_ERROR_CODES.JOB_DELETED,
            message: `import job ${name} was deleted: ${job.deleteReason ?? ''}`,
          };
        }
        return {
          ok: true,
          state: job.state,
          failedDrives: job.drives
            .filter((d) => d.state === 'Failed')
            .map((d) => `${d.driveId}: ${d.errors.map((e) => e.message).join('; ')}`),
          bytesTransferred: job.bytesTransferred,
        };
      } catch (err) {
        if (hasErrorCode(err, OFFLINE_ERROR_CODES.JOB_NOT_FOUND)) return missing(name);
        throw err;
      }
    },

    /** The earliest next scheduled backup of the items' policies after `now` (ISO), or `now` if none. */
    async nextScheduledBackup(name: string, now: Date): Promise<StepResult<{ at: string }>> {
      const doc = await load(name);
      if (!doc) return missing(name);
      let best: Date | undefined;
      for (const item of doc.itemNames) {
        const it = await cp.items.get(doc.subscriptionId, doc.vaultName, item);
        const policyName = (it.properties as { policyName?: string }).policyName;
        if (policyName === undefined) continue;
        const policy = await cp.policies.read(doc.subscriptionId, doc.vaultName, policyName);
        const next = nextRunTimes(policy.doc.policy.schedule, now, 1)[0];
        if (next && (!best || next < best)) best = next;
      }
      return { ok: true, at: (best ?? now).toISOString() };
    },

    async copyUnit(name: string, unit: CopyUnit): Promise<StepResult<CopyResult>> {
      const doc = await load(name);
      if (!doc) return missing(name);
      const server = await serverOf(doc);
      if (!server) return serverGone(doc);
      try {
        const r = await copyImportUnit(
          deps.importContainer(doc.storageAccount, doc.container),
          `${doc.name}/`,
          deps.serverVault(doc.subscriptionId, doc.vaultName, server.doc.serverId),
          unit,
        );
        return { ok: true, ...r };
      } catch (err) {
        if (hasErrorCode(err, OFFLINE_ERROR_CODES.VAULT_MISMATCH)) {
          return { ok: false, code: OFFLINE_ERROR_CODES.VAULT_MISMATCH, message: (err as Error).message };
        }
        throw err;
      }
    },

    /** Recovery points (last, after every object is in), items Protected, jobs Completed. */
    async commit(name: string, now: Date): Promise<StepResult<{ points: number }>> {
      const doc = await load(name);
      if (!doc) return missing(name);
      const server = await serverOf(doc);
      if (!server) return serverGone(doc);
      const vault = deps.serverVault(doc.subscriptionId, doc.vaultName, server.doc.serverId);
      const points = doc.stagedPoints ?? [];
      for (const p of points) {
        if ((await vault.stat(manifestRefOf(p.pointId))) === undefined) {
          return {
            ok: false,
            code: OFFLINE_ERROR_CODES.VAULT_MISMATCH,
            message: `staged point ${p.pointId} of item ${p.itemName} was not among the imported data`,
          };
        }
      }
      await deps.annotateJobs(doc, `Initial backup seeded offline (import job ${doc.name})`);
      for (const item of doc.itemNames) {
        const mine = points.filter((p) => sameName(p.itemName, item));
        for (const p of mine) {
          await addPointOnce(cp, doc.subscriptionId, doc.vaultName, item, {
            pointId: p.pointId,
            pointTime: pointTimeOf(p.pointId),
            sizeBytes: p.sizeBytes,
            consistency:
              server.doc.sources[item.toLowerCase()]?.kind === 'diskImage'
                ? 'CrashConsistent'
                : 'FileSystemConsistent',
          });
        }
        const last =
          mine
            .map((p) => pointTimeOf(p.pointId))
            .sort()
            .pop() ?? now.toISOString();
        await cp.items.apply(doc.subscriptionId, doc.vaultName, item, { kind: 'backupSucceeded', at: last });
        const jobId = doc.jobIds[item.toLowerCase()];
        if (jobId !== undefined) {
          await cp.jobs.finish(doc.subscriptionId, doc.vaultName, jobId, {
            status: 'Completed',
            bytesTransferred: mine.reduce((n, p) => n + p.sizeBytes, 0),
          });
        }
      }
      return { ok: true, points: points.length };
    },

    /** Deletes the job's data from the import container (idempotent: missing blobs are fine). */
    async cleanImport(name: string): Promise<StepResult<{ deleted: number }>> {
      const doc = await load(name);
      if (!doc) return missing(name);
      const src = deps.importContainer(doc.storageAccount, doc.container);
      let deleted = 0;
      const keys: string[] = [];
      for await (const e of src.list(`${doc.name}/`)) keys.push(e.key);
      for (const key of keys) if ((await src.delete(key)).deleted) deleted += 1;
      return { ok: true, deleted };
    },

    /** A deadline passed: the import job is cancelled and deleted, the jobs fail, the items wait online. */
    async expire(
      name: string,
      reason: string,
      now: Date,
    ): Promise<StepResult<{ state: OfflineBackupState }>> {
      const doc = await load(name);
      if (!doc) return missing(name);
      if (doc.importJobCreatedTime !== undefined) {
        try {
          await deps.imports().cancelJob(name, reason, now);
        } catch (err) {
          if (!hasErrorCode(err, OFFLINE_ERROR_CODES.JOB_NOT_FOUND)) throw err;
        }
      }
      return end(name, 'Expired', { code: OFFLINE_ERROR_CODES.JOB_EXPIRED, message: reason }, now);
    },

    async fail(
      name: string,
      code: string,
      message: string,
      now: Date,
    ): Promise<StepResult<{ state: OfflineBackupState }>> {
      if (!(await load(name))) return missing(name);
      return end(name, 'Failed', { code, message }, now);
    },
  };
}

export type OfflineSteps = ReturnType<typeof offlineSteps>;
