// Small generator steps every VM orchestration shares: the job (create, running, progress, finish)
// and the item's turn (join the item's queue, wait while queued, leave it and wake the next). They
// are deterministic (no clock, no I/O): only durable tasks, composed with `yield*`.
import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import type { JobOperation } from '../../shared/controlPlane/jobService';
import type { EnqueueResult, QueueEntry, ReleaseResult, TryAcquireResult } from '../../shared/vm/itemQueue';
import { itemKey } from '../../shared/vm/vmStateStore';
import { QUEUE_RECHECK_MS } from '../../shared/vm/vmLimits';
import type { ItemRef, JobRef } from '../../shared/vm/vmWorkflowTypes';
import { ACTIVITIES, ITEM_QUEUE_ENTITY, ITEM_QUEUE_OPS, ITEM_TURN_EVENT } from './names';

export type Step<T> = Generator<Task, T, unknown>;

/** Retries for activities that may meet throttling or a dropped connection (they are idempotent). */
export const ACTIVITY_RETRY = new df.RetryOptions(2000, 4);
ACTIVITY_RETRY.backoffCoefficient = 2;

export function nowIso(context: OrchestrationContext): string {
  return context.df.currentUtcDateTime.toISOString();
}

/** A thrown activity failure reaches the orchestration as a plain Error: keep its first line. */
export function failureMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? text).trim().slice(0, 500);
}

export function* ensureJob(
  context: OrchestrationContext,
  job: JobRef,
  operation: JobOperation,
  itemName: string | undefined,
  status: 'Queued' | 'InProgress',
): Step<void> {
  yield context.df.callActivityWithRetry(ACTIVITIES.jobEnsure, ACTIVITY_RETRY, {
    ...job,
    operation,
    ...(itemName !== undefined ? { itemName } : {}),
    durableInstanceId: context.df.instanceId,
    status,
  });
}

/** What the job activities answer (jobs.activity.ts JobCheck); absent in old histories: not cancelled. */
function cancelRequested(check: unknown): boolean {
  return (check as { cancelRequested?: unknown } | undefined)?.cancelRequested === true;
}

/** Marks the job running; true if its cancellation was requested (then nothing should run). */
export function* jobRunning(context: OrchestrationContext, job: JobRef): Step<boolean> {
  return cancelRequested(
    yield context.df.callActivityWithRetry(ACTIVITIES.jobRunning, ACTIVITY_RETRY, {
      ...job,
      runningSince: nowIso(context),
    }),
  );
}

export interface ProgressUpdate {
  readonly progressPercent?: number;
  readonly bytesTransferred?: number;
  readonly extendedInfo?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Writes progress; returns true if the job's cancellation was requested. Long workflows call it after
 * each batch of work, so it is also where they notice a cancel (no extra activity per checkpoint).
 */
export function* jobProgress(
  context: OrchestrationContext,
  job: JobRef,
  update: ProgressUpdate,
): Step<boolean> {
  return cancelRequested(
    yield context.df.callActivityWithRetry(ACTIVITIES.jobProgress, ACTIVITY_RETRY, { ...job, ...update }),
  );
}

/** The outcome of a workflow that stopped because its job was cancelled. */
export const CANCELLED: OperationResult = { ok: false, cancelled: true };

export interface FinishUpdate extends ProgressUpdate {
  readonly status: 'Completed' | 'Failed' | 'Cancelled';
  readonly error?: { readonly code: string; readonly message: string };
}

export function* finishJob(context: OrchestrationContext, job: JobRef, update: FinishUpdate): Step<void> {
  yield context.df.callActivityWithRetry(ACTIVITIES.jobFinish, ACTIVITY_RETRY, { ...job, ...update });
}

// ---- the item's turn -------------------------------------------------------------------------------

function queueOf(ref: ItemRef): df.EntityId {
  return new df.EntityId(ITEM_QUEUE_ENTITY, itemKey(ref.sub, ref.vault, ref.item));
}

export function queueEntry(context: OrchestrationContext, operation: string, jobId?: string): QueueEntry {
  return {
    instanceId: context.df.instanceId,
    operation,
    ...(jobId !== undefined ? { jobId } : {}),
    since: nowIso(context),
  };
}

/**
 * Joins the item's queue and returns once this orchestration holds the turn. While it waits, it wakes
 * on the turn event or every QUEUE_RECHECK_MS to check that the holder is still alive (an instance
 * terminated by an operator never releases); a dead holder is removed and the next one woken.
 * `onQueued` runs once if the caller had to wait (e.g. to note in its job what it waits for).
 */
export function* acquireTurn(
  context: OrchestrationContext,
  ref: ItemRef,
  entry: QueueEntry,
  onQueued?: (head: QueueEntry) => Step<void>,
  job?: JobRef,
): Step<{ waited: boolean; cancelled?: boolean }> {
  const queue = queueOf(ref);
  let r = (yield context.df.callEntity(queue, ITEM_QUEUE_OPS.enqueue, entry)) as EnqueueResult;
  if (r.position === 0) return { waited: false };
  if (onQueued) yield* onQueued(r.head);
  // At most one open event task: a second waiter on the same name would not see the event. A waiter
  // left open (the recheck found the turn) may take a later, unrelated event; the queue check below
  // makes that harmless.
  let turn: Task | undefined;
  for (;;) {
    turn ??= context.df.waitForExternalEvent(ITEM_TURN_EVENT);
    const recheck = context.df.createTimer(
      new Date(context.df.currentUtcDateTime.getTime() + QUEUE_RECHECK_MS),
    );
    const winner = (yield context.df.Task.any([turn, recheck])) as Task;
    if (winner === turn) {
      recheck.cancel();
      turn = undefined;
    } else if (r.head.instanceId !== entry.instanceId) {
      const finished = (yield context.df.callActivity(
        ACTIVITIES.instanceFinished,
        r.head.instanceId,
      )) as boolean;
      if (finished) {
        const rel = (yield context.df.callEntity(queue, ITEM_QUEUE_OPS.release, {
          instanceId: r.head.instanceId,
        })) as ReleaseResult;
        if (rel.next && rel.next.instanceId !== entry.instanceId) yield* wake(context, ref, rel.next);
      }
    }
    // The queue is the truth, not the event (a late or duplicate event must not grant a turn).
    r = (yield context.df.callEntity(queue, ITEM_QUEUE_OPS.enqueue, entry)) as EnqueueResult;
    if (r.position === 0) return { waited: true };
    // Still waiting: a cancel request (which also raises the turn event, to get here at once) ends
    // the wait. Leaving from behind the head wakes nobody; leaving as the head wakes the next.
    if (job) {
      const check: unknown = yield context.df.callActivityWithRetry(
        ACTIVITIES.jobCancelRequested,
        ACTIVITY_RETRY,
        job,
      );
      if (cancelRequested(check)) {
        const rel = (yield context.df.callEntity(queue, ITEM_QUEUE_OPS.release, {
          instanceId: entry.instanceId,
        })) as ReleaseResult;
        // It may have become the head meanwhile (and been woken): pass the turn on at once.
        if (rel.next) yield* wake(context, ref, rel.next);
        return { waited: true, cancelled: true };
      }
    }
  }
}

/** Takes the turn only if the item is idle; otherwise reports who holds it (register refuses). */
export function* tryAcquireTurn(
  context: OrchestrationContext,
  ref: ItemRef,
  entry: QueueEntry,
): Step<TryAcquireResult> {
  return (yield context.df.callEntity(queueOf(ref), ITEM_QUEUE_OPS.tryAcquire, entry)) as TryAcquireResult;
}

/** Leaves the queue and wakes whoever is next. */
export function* releaseTurn(context: OrchestrationContext, ref: ItemRef): Step<void> {
  const rel = (yield context.df.callEntity(queueOf(ref), ITEM_QUEUE_OPS.release, {
    instanceId: context.df.instanceId,
  })) as ReleaseResult;
  if (rel.next) yield* wake(context, ref, rel.next);
}

/** Wakes `next`; one that has ended meanwhile is removed and the one after it woken instead. */
function* wake(context: OrchestrationContext, ref: ItemRef, next: QueueEntry): Step<void> {
  let target: QueueEntry | null = next;
  while (target) {
    const delivered = (yield context.df.callActivityWithRetry(ACTIVITIES.wakeQueued, ACTIVITY_RETRY, {
      instanceId: target.instanceId,
      key: itemKey(ref.sub, ref.vault, ref.item),
    })) as boolean;
    if (delivered) return;
    const rel = (yield context.df.callEntity(queueOf(ref), ITEM_QUEUE_OPS.release, {
      instanceId: target.instanceId,
    })) as ReleaseResult;
    target = rel.next;
  }
}

// ---- one operation on one item, start to end ---------------------------------------------------------

export interface OperationResult {
  readonly ok: boolean;
  /** The job was cancelled: it ends `Cancelled`, and the body has undone what it started. */
  readonly cancelled?: boolean;
  readonly error?: { readonly code: string; readonly message: string };
  readonly bytesTransferred?: number;
  readonly extendedInfo?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The frame of every queued item operation: its job exists from the start (Queued), it waits for the
 * item's turn, runs `body`, finishes the job with the body's outcome (an unexpected failure becomes
 * InternalError), and always gives the turn to the next operation.
 */
export function* runItemOperation(
  context: OrchestrationContext,
  ref: ItemRef,
  job: JobRef,
  operation: JobOperation,
  body: () => Step<OperationResult>,
): Step<OperationResult> {
  yield* ensureJob(context, job, operation, ref.item, 'Queued');
  const turn = yield* acquireTurn(
    context,
    ref,
    queueEntry(context, operation, job.jobId),
    function* (head) {
      yield* jobProgress(context, job, {
        extendedInfo: { queuedBehindJobId: head.jobId ?? '', queuedBehindOperation: head.operation },
      });
    },
    job,
  );
  if (turn.cancelled) {
    // Cancelled while queued: it never held the item, so there is no turn to give back.
    yield* finishJob(context, job, { status: 'Cancelled' });
    return CANCELLED;
  }
  let result: OperationResult;
  try {
    result = (yield* jobRunning(context, job)) ? CANCELLED : yield* body();
  } catch (err) {
    result = { ok: false, error: { code: 'InternalError', message: failureMessage(err) } };
  }
  try {
    yield* finishJob(context, job, {
      status: result.ok ? 'Completed' : result.cancelled ? 'Cancelled' : 'Failed',
      ...(result.error !== undefined ? { error: result.error } : {}),
      ...(result.bytesTransferred !== undefined ? { bytesTransferred: result.bytesTransferred } : {}),
      ...(result.extendedInfo !== undefined ? { extendedInfo: result.extendedInfo } : {}),
    });
  } finally {
    yield* releaseTurn(context, ref);
  }
  return result;
}
