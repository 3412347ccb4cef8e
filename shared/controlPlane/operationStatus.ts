// The ARM asynchronous-operation view of a job (`Azure-AsyncOperation` target). Every long operation
// of the API is a job, so a client can poll either the job or this smaller, standard shape:
// https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations
import type { JobDoc, JobResource } from './jobService';

export type OperationState = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

export interface OperationStatus {
  readonly id: string;
  readonly name: string;
  readonly status: OperationState;
  readonly startTime: string;
  readonly endTime?: string;
  readonly percentComplete: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/** Any job status that is not terminal (including a queued job) is still `InProgress` to ARM clients. */
function operationStateOf(jobStatus: string): OperationState {
  switch (jobStatus) {
    case 'Completed':
      return 'Succeeded';
    case 'Failed':
      return 'Failed';
    case 'Cancelled':
      return 'Canceled';
    default:
      return 'InProgress';
  }
}

export function operationStatusOf(job: JobResource): OperationStatus {
  // Omit<> over JobDoc's index signature erases its named fields; they are there (jobResourceOf).
  const p = job.properties as unknown as Pick<
    JobDoc,
    'status' | 'startTime' | 'endTime' | 'progressPercent' | 'error'
  >;
  return {
    id: job.id.replace(/\/jobs\/([^/]+)$/, '/operationStatus/$1'),
    name: job.name,
    status: operationStateOf(p.status),
    startTime: p.startTime,
    ...(p.endTime !== undefined ? { endTime: p.endTime } : {}),
    percentComplete: p.progressPercent,
    ...(p.error !== undefined ? { error: p.error } : {}),
  };
}
