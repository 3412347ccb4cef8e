// Activities that write a workflow's job (shared/controlPlane/jobService). Each is idempotent: a
// re-run creates nothing twice and moves a job only forward.
import type { JobOperation } from '../../shared/controlPlane/jobService';
import type { JobRef } from '../../shared/vm/vmWorkflowTypes';
import { vmDeps } from './vmAppDeps';

type Info = Readonly<Record<string, string | number | boolean>>;

export async function jobEnsureActivity(
  input: JobRef & {
    operation: JobOperation;
    itemName?: string;
    durableInstanceId: string;
    status: 'Queued' | 'InProgress';
  },
): Promise<void> {
  await vmDeps().cp.jobs.ensure(input.sub, input.vault, {
    jobId: input.jobId,
    operation: input.operation,
    ...(input.itemName !== undefined ? { itemName: input.itemName } : {}),
    durableInstanceId: input.durableInstanceId,
    status: input.status,
  });
}

/** What the job steps tell the orchestration: whether someone asked to cancel the job. */
export interface JobCheck {
  readonly cancelRequested: boolean;
}

function checkOf(job: { properties: unknown }): JobCheck {
  return { cancelRequested: (job.properties as { cancelRequested?: unknown }).cancelRequested !== undefined };
}

export async function jobRunningActivity(input: JobRef & { runningSince: string }): Promise<JobCheck> {
  const jobs = vmDeps().cp.jobs;
  const job = await jobs.markRunning(input.sub, input.vault, input.jobId);
  const status = (job.properties as { status?: string }).status;
  if (status !== 'InProgress') return checkOf(job);
  return checkOf(
    await jobs.progress(input.sub, input.vault, input.jobId, {
      extendedInfo: { runningSince: input.runningSince },
    }),
  );
}

export async function jobCancelRequestedActivity(input: JobRef): Promise<JobCheck> {
  const { doc } = await vmDeps().cp.jobs.read(input.sub, input.vault, input.jobId);
  return { cancelRequested: doc.cancelRequested !== undefined };
}

export async function jobProgressActivity(
  input: JobRef & { progressPercent?: number; bytesTransferred?: number; extendedInfo?: Info },
): Promise<JobCheck> {
  const { doc } = await vmDeps().cp.jobs.read(input.sub, input.vault, input.jobId);
  // A re-run of an old progress step after the job ended changes nothing.
  if (doc.status !== 'InProgress' && doc.status !== 'Queued') return { cancelRequested: false };
  return checkOf(
    await vmDeps().cp.jobs.progress(input.sub, input.vault, input.jobId, {
      ...(input.progressPercent !== undefined ? { progressPercent: input.progressPercent } : {}),
      ...(input.bytesTransferred !== undefined ? { bytesTransferred: input.bytesTransferred } : {}),
      ...(input.extendedInfo !== undefined ? { extendedInfo: input.extendedInfo } : {}),
    }),
  );
}

export async function jobFinishActivity(
  input: JobRef & {
    status: 'Completed' | 'Failed' | 'Cancelled';
    error?: { code: string; message: string };
    bytesTransferred?: number;
    extendedInfo?: Info;
  },
): Promise<void> {
  await vmDeps().cp.jobs.finish(input.sub, input.vault, input.jobId, {
    status: input.status,
    ...(input.error !== undefined ? { error: input.error } : {}),
    ...(input.bytesTransferred !== undefined ? { bytesTransferred: input.bytesTransferred } : {}),
    ...(input.extendedInfo !== undefined ? { extendedInfo: input.extendedInfo } : {}),
  });
}
