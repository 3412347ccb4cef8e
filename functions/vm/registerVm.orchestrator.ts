// Register one discovered VM (one Register job per VM): attach the backup extension and make it an
// item of the vault. Register does not queue: if another operation holds the item (e.g. a second
// register of the same VM), it fails at once with OperationInProgress.
import type { OrchestrationContext } from 'durable-functions';
import { jobError, type Outcome } from '../../shared/vm/vmErrors';
import { ACTIVITIES } from './names';
import {
  ACTIVITY_RETRY,
  ensureJob,
  failureMessage,
  finishJob,
  queueEntry,
  releaseTurn,
  tryAcquireTurn,
  type OperationResult,
  type Step,
} from './orchestrationSteps';

export interface RegisterInput {
  readonly sub: string;
  readonly vault: string;
  readonly vmName: string;
  readonly jobId: string;
}

export function* registerVmOrchestrator(context: OrchestrationContext): Step<OperationResult> {
  const input = context.df.getInput<RegisterInput>();
  const job = { sub: input.sub, vault: input.vault, jobId: input.jobId };
  // The item will be named after the VM, so the VM's name is the item's queue.
  const ref = { sub: input.sub, vault: input.vault, item: input.vmName };
  yield* ensureJob(context, job, 'Register', input.vmName, 'InProgress');
  const turn = yield* tryAcquireTurn(context, ref, queueEntry(context, 'Register', input.jobId));
  if (!turn.acquired) {
    const error = jobError(
      'OperationInProgress',
      `Another operation (${turn.holder.operation}${turn.holder.jobId ? `, job ${turn.holder.jobId}` : ''}) is in progress on ${input.vmName}`,
    );
    yield* finishJob(context, job, { status: 'Failed', error });
    return { ok: false, error };
  }
  let result: OperationResult;
  try {
    const r = (yield context.df.callActivityWithRetry(
      ACTIVITIES.register,
      ACTIVITY_RETRY,
      input,
    )) as Outcome<{
      itemName: string;
      vmId: string;
    }>;
    result = r.ok
      ? { ok: true, extendedInfo: { itemName: r.value.itemName, vmId: r.value.vmId } }
      : { ok: false, error: jobError(r.code, r.message) };
  } catch (err) {
    result = { ok: false, error: jobError('InternalError', failureMessage(err)) };
  }
  try {
    yield* finishJob(context, job, {
      status: result.ok ? 'Completed' : 'Failed',
      ...(result.error ? { error: result.error } : {}),
      ...(result.extendedInfo ? { extendedInfo: result.extendedInfo } : {}),
    });
  } finally {
    yield* releaseTurn(context, ref);
  }
  return result;
}
