// Restore of one recovery point, as its own job with progress: as a new VM, by replacing the original
// VM's disks, or as disks in a storage container. It takes the item's turn like any item operation (a
// restore never races a backup or retention of the same item), creates the target disks, restores
// them in segment activities (fan-out), then builds or updates the VM. A restore that fails or is
// cancelled before the VM step deletes the disks it made (they hold part of a disk and belong to no VM).
import type { OrchestrationContext } from 'durable-functions';
import type { ProvisionedDisk } from '../../shared/inventory/vmProvisioner';
import { restoreSegmentsOf } from '../../shared/vm/restoreSteps';
import { jobError, type Outcome } from '../../shared/vm/vmErrors';
import { TRANSFER_FAN_OUT } from '../../shared/vm/vmLimits';
import type { PreparedRestore, RestoreInput } from '../../shared/vm/vmWorkflowTypes';
import { ACTIVITIES } from './names';
import {
  ACTIVITY_RETRY,
  CANCELLED,
  failureMessage,
  jobProgress,
  runItemOperation,
  type OperationResult,
  type Step,
} from './orchestrationSteps';

export function* restoreVmOrchestrator(context: OrchestrationContext): Step<OperationResult> {
  const input = context.df.getInput<RestoreInput>();
  const job = { sub: input.sub, vault: input.vault, jobId: input.jobId };
  return yield* runItemOperation(context, input, job, 'Restore', () => restoreSteps(context, input));
}

function* restoreSteps(context: OrchestrationContext, input: RestoreInput): Step<OperationResult> {
  const prepared = (yield context.df.callActivityWithRetry(
    ACTIVITIES.restorePrepare,
    ACTIVITY_RETRY,
    input,
  )) as Outcome<PreparedRestore>;
  if (!prepared.ok) return { ok: false, error: jobError(prepared.code, prepared.message) };
  const disks = (yield context.df.callActivityWithRetry(ACTIVITIES.restoreDisks, ACTIVITY_RETRY, {
    input,
    prepared: prepared.value,
  })) as Outcome<ProvisionedDisk[]>;
  if (!disks.ok) return { ok: false, error: jobError(disks.code, disks.message) };
  return yield* transferAndFinish(context, input, prepared.value, disks.value);
}

/**
 * Writes the disks and builds the target. Before the VM step, a failure or a cancel deletes the disks;
 * after it (or if it threw, when a swap may be half done) they are left as they are.
 */
function* transferAndFinish(
  context: OrchestrationContext,
  input: RestoreInput,
  prepared: PreparedRestore,
  disks: ProvisionedDisk[],
): Step<OperationResult> {
  let transferred: OperationResult | { written: number };
  try {
    transferred = yield* transfer(context, input, prepared, disks);
  } catch (err) {
    transferred = { ok: false, error: jobError('InternalError', failureMessage(err)) };
  }
  if ('ok' in transferred) {
    yield context.df.callActivityWithRetry(ACTIVITIES.restoreAbandon, ACTIVITY_RETRY, disks);
    return transferred;
  }
  const written = transferred.written;
  const finished = (yield context.df.callActivityWithRetry(ACTIVITIES.restoreFinish, ACTIVITY_RETRY, {
    input,
    prepared,
    disks,
  })) as Outcome<{ vmId?: string; vmName?: string; disks: string[] }>;
  if (!finished.ok) {
    // A refusal (the VM name was taken, the original VM is gone) left the disks unused.
    yield context.df.callActivityWithRetry(ACTIVITIES.restoreAbandon, ACTIVITY_RETRY, disks);
    return { ok: false, error: jobError(finished.code, finished.message) };
  }
  return {
    ok: true,
    bytesTransferred: written,
    extendedInfo: {
      phase: 'Completed',
      ...(finished.value.vmName !== undefined ? { restoredVmName: finished.value.vmName } : {}),
      ...(finished.value.vmId !== undefined ? { restoredVmId: finished.value.vmId } : {}),
      restoredDisks: finished.value.disks.join(','),
    },
  };
}

/** The segment transfer; `{ written }` when every segment is in, an OperationResult when it stopped. */
function* transfer(
  context: OrchestrationContext,
  input: RestoreInput,
  prepared: PreparedRestore,
  disks: ProvisionedDisk[],
): Step<OperationResult | { written: number }> {
  const job = { sub: input.sub, vault: input.vault, jobId: input.jobId };
  const segments = restoreSegmentsOf(prepared.disks);
  const totalBytes = segments.reduce((n, s) => n + s.length, 0);
  const cancelledAtStart = yield* jobProgress(context, job, {
    progressPercent: 2,
    extendedInfo: {
      restoreType: input.target.restoreType,
      recoveryPointId: input.recoveryPointId,
      segments: segments.length,
      phase: 'Transfer',
    },
  });
  if (cancelledAtStart) return CANCELLED;
  let doneBytes = 0;
  let written = 0;
  for (let i = 0; i < segments.length; i += TRANSFER_FAN_OUT) {
    const batch = segments.slice(i, i + TRANSFER_FAN_OUT);
    const results = (yield context.df.Task.all(
      batch.map((s) =>
        context.df.callActivityWithRetry(ACTIVITIES.restoreSegment, ACTIVITY_RETRY, {
          input,
          target: disks[s.diskIndex],
          vaultPointId: prepared.disks[s.diskIndex]?.vaultPointId,
          range: { offset: s.offset, length: s.length },
        }),
      ),
    )) as Outcome<{ bytesWritten: number }>[];
    for (const [j, r] of results.entries()) {
      if (!r.ok) return { ok: false, error: jobError(r.code, r.message) };
      doneBytes += batch[j]?.length ?? 0;
      written += r.value.bytesWritten;
    }
    const cancelled = yield* jobProgress(context, job, {
      progressPercent: 2 + Math.floor((95 * doneBytes) / Math.max(1, totalBytes)),
      bytesTransferred: written,
    });
    if (cancelled) return CANCELLED;
  }
  return { written };
}
