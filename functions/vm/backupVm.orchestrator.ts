// The backup of one VM item (back up now, or one scheduled time): wait for the item's turn, snapshot
// all disks together (consistency from the guest's freeze), plan the changed ranges, transfer them in
// segment activities (fan-out, each < 2 minutes), commit the recovery point last, release the older
// snapshot. Job progress and bytes move with every batch of segments. Deterministic: no clock, no I/O.
import type { OrchestrationContext } from 'durable-functions';
import { jobError, type Outcome, type VmJobErrorCode } from '../../shared/vm/vmErrors';
import { COPY_DEADLINE_MS, TRANSFER_FAN_OUT } from '../../shared/vm/vmLimits';
import type {
  BackupInput,
  CommittedBackup,
  PlannedDisk,
  PreparedBackup,
  SegmentDone,
  TakenSnapshot,
} from '../../shared/vm/vmWorkflowTypes';
import { ACTIVITIES } from './names';
import {
  ACTIVITY_RETRY,
  CANCELLED,
  failureMessage,
  jobProgress,
  nowIso,
  runItemOperation,
  type OperationResult,
  type Step,
} from './orchestrationSteps';

/** Progress: 0-5 % preparing and snapshotting, 5-95 % transfer (by planned bytes), 100 % committed. */
const TRANSFER_START_PERCENT = 5;
const TRANSFER_SPAN_PERCENT = 90;

function failed(code: VmJobErrorCode, message: string): OperationResult {
  return { ok: false, error: jobError(code, message) };
}

export function* backupVmOrchestrator(context: OrchestrationContext): Step<OperationResult> {
  const input = context.df.getInput<BackupInput>();
  const job = { sub: input.sub, vault: input.vault, jobId: input.jobId };
  return yield* runItemOperation(context, input, job, 'Backup', () => backupSteps(context, input));
}

function* backupSteps(context: OrchestrationContext, input: BackupInput): Step<OperationResult> {
  const job = { sub: input.sub, vault: input.vault, jobId: input.jobId };
  const prepared = (yield context.df.callActivityWithRetry(
    ACTIVITIES.backupPrepare,
    ACTIVITY_RETRY,
    input,
  )) as Outcome<PreparedBackup>;
  if (!prepared.ok) {
    if (prepared.code === 'VmDeleted') yield* markItemFailed(context, input, prepared.code, prepared.message);
    return failed(prepared.code, prepared.message);
  }
  const source = prepared.value.source;
  const cancelled = yield* jobProgress(context, job, {
    progressPercent: 1,
    extendedInfo: { vmName: source.vmName, trigger: input.trigger, phase: 'Snapshot' },
  });
  if (cancelled) return CANCELLED; // nothing taken yet

  // Retried like the rest: the snapshot set is named after the job, so a retry (or a re-run after a
  // crash) replaces what an earlier attempt took instead of leaking it (Inventory.snapshotVm).
  const taken = (yield context.df.callActivityWithRetry(ACTIVITIES.backupSnapshot, ACTIVITY_RETRY, {
    vmId: source.vmId,
    nowIso: nowIso(context),
    setId: input.jobId,
  })) as Outcome<TakenSnapshot>;
  if (!taken.ok) {
    yield* markItemFailed(context, input, taken.code, taken.message);
    return failed(taken.code, taken.message);
  }
  const deadline = context.df.currentUtcDateTime.getTime() + COPY_DEADLINE_MS;
  let planned: PlannedDisk[] = [];
  let outcome: OperationResult;
  try {
    outcome = yield* transferAndCommit(context, input, prepared.value, taken.value, deadline, (p) => {
      planned = p;
    });
  } catch (err) {
    outcome = failed('InternalError', failureMessage(err));
  }
  if (outcome.ok) {
    // The new snapshot is the base of the next incremental; the one before it is no longer needed.
    if (prepared.value.parent) {
      yield context.df.callActivityWithRetry(
        ACTIVITIES.releaseSnapshots,
        ACTIVITY_RETRY,
        prepared.value.parent.snapshotSet,
      );
    }
    return outcome;
  }
  // Failed or cancelled after the snapshot: release it, and leave whatever the segments wrote to
  // garbage collection (a cancelled backup leaves the item as it was: no point, not marked failed).
  yield context.df.callActivityWithRetry(ACTIVITIES.releaseSnapshots, ACTIVITY_RETRY, taken.value.set);
  if (planned.length > 0) {
    yield context.df.callActivityWithRetry(ACTIVITIES.backupAbandon, ACTIVITY_RETRY, {
      input,
      plans: planned.map((d) => d.plan),
      nowIso: nowIso(context),
    });
  }
  if (outcome.error) yield* markItemFailed(context, input, outcome.error.code, outcome.error.message);
  return outcome;
}

function* transferAndCommit(
  context: OrchestrationContext,
  input: BackupInput,
  prepared: PreparedBackup,
  taken: TakenSnapshot,
  deadline: number,
  onPlanned: (p: PlannedDisk[]) => void,
): Step<OperationResult> {
  const job = { sub: input.sub, vault: input.vault, jobId: input.jobId };
  const planned = (yield context.df.callActivityWithRetry(ACTIVITIES.backupPlan, ACTIVITY_RETRY, {
    input,
    prepared,
    taken,
  })) as Outcome<PlannedDisk[]>;
  if (!planned.ok) return failed(planned.code, planned.message);
  const disks = planned.value;
  onPlanned(disks);
  const work = disks.flatMap((d, diskIndex) =>
    d.plan.segments.map((s) => ({ diskIndex, index: s.index, bytes: s.bytes })),
  );
  const totalBytes = work.reduce((n, w) => n + w.bytes, 0);
  const cancelledAtStart = yield* jobProgress(context, job, {
    progressPercent: TRANSFER_START_PERCENT,
    extendedInfo: {
      consistency: taken.consistency,
      phase: 'Transfer',
      segments: work.length,
      bytesPlanned: totalBytes,
      rangesFrom: [...new Set(disks.map((d) => d.rangesFrom))].join(','),
    },
  });
  if (cancelledAtStart) return CANCELLED;
  let doneBytes = 0;
  let bytesRead = 0;
  let bytesStored = 0;
  for (let i = 0; i < work.length; i += TRANSFER_FAN_OUT) {
    if (context.df.currentUtcDateTime.getTime() > deadline) {
      return failed(
        'CopyTimedOut',
        `The transfer did not finish within ${COPY_DEADLINE_MS / 3_600_000} hours (${doneBytes} of ${totalBytes} bytes copied)`,
      );
    }
    const batch = work.slice(i, i + TRANSFER_FAN_OUT);
    const results = (yield context.df.Task.all(
      batch.map((w) =>
        context.df.callActivityWithRetry(ACTIVITIES.backupSegment, ACTIVITY_RETRY, {
          input,
          disk: disks[w.diskIndex],
          index: w.index,
          nowIso: nowIso(context),
        }),
      ),
    )) as Outcome<SegmentDone>[];
    for (const [j, r] of results.entries()) {
      if (!r.ok) return failed(r.code, r.message);
      doneBytes += batch[j]?.bytes ?? 0;
      bytesRead += r.value.bytesRead;
      bytesStored += r.value.bytesNewStored;
    }
    const cancelled = yield* jobProgress(context, job, {
      progressPercent:
        TRANSFER_START_PERCENT +
        (totalBytes > 0
          ? Math.floor((TRANSFER_SPAN_PERCENT * doneBytes) / totalBytes)
          : TRANSFER_SPAN_PERCENT),
      bytesTransferred: bytesStored,
      extendedInfo: { bytesRead, segmentsDone: Math.min(work.length, i + batch.length) },
    });
    // Checked between batches: a batch's segments finish (each is short and resumable) before the stop.
    if (cancelled) return CANCELLED;
  }
  const committed = (yield context.df.callActivityWithRetry(ACTIVITIES.backupCommit, ACTIVITY_RETRY, {
    input,
    instanceId: context.df.instanceId,
    prepared,
    taken,
    disks,
    nowIso: nowIso(context),
  })) as Outcome<CommittedBackup>;
  if (!committed.ok) return failed(committed.code, committed.message);
  const c = committed.value;
  return {
    ok: true,
    bytesTransferred: c.bytesNewStored,
    extendedInfo: {
      phase: 'Completed',
      recoveryPointId: c.recoveryPointId,
      recoveryPointType: c.recoveryPointType,
      consistency: taken.consistency,
      bytesRead: c.bytesRead,
      sizeBytes: c.sizeBytes,
    },
  };
}

function* markItemFailed(
  context: OrchestrationContext,
  input: BackupInput,
  code: string,
  message: string,
): Step<void> {
  yield context.df.callActivityWithRetry(ACTIVITIES.markItemFailed, ACTIVITY_RETRY, {
    input,
    error: jobError(code as VmJobErrorCode, message),
  });
}
