// One durable orchestration per offline backup (docs/offline-seeding.md "The workflow"):
//
//   wait for drives prepared (import job created)   ≤ 30 days after initiation, else expire
//   wait for shipping details                        ≤ 14 days after the import job, else expire
//   poll the import job daily                        drives must arrive ≤ 14 days after shipping, else expire
//   wait for the items' next scheduled backup
//   copy into the vault: fan-out per phase, in the vault's write order (points last)
//   commit (recovery points, items Protected, jobs Completed), clean the import container,
//   mark staging deletable.
//
// Deterministic (STYLE §2): time is context.df.currentUtcDateTime, all I/O is in activities. Facts
// that the API records (drives, shipping) are read from the offline backup's row; the API raises
// WAKE_EVENT so a wait ends early. Every wait is a chain of timers of at most MAX_TIMER_MS (5 days):
// durable-functions has known trouble with single timers longer than 6 days.
import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import { COPY_PHASES, type CopyResult } from '../../shared/offline/importCopy';
import {
  DRIVES_DEADLINE_MS,
  IMPORT_POLL_INTERVAL_MS,
  MAX_TIMER_MS,
  STAGING_DEADLINE_MS,
  TERMINAL_STATES,
  TRACKING_NUMBER_DEADLINE_MS,
  DAY_MS,
} from '../../shared/offline/offlineBackup';
import { OFFLINE_ERROR_CODES } from '../../shared/offline/offlineErrors';
import type { OfflineWorkflowInput } from '../../shared/offline/offlineService';
import type { StepResult, WorkflowPatch, WorkflowView } from '../../shared/offline/offlineSteps';
import { OFFLINE_FUNCTIONS as F, WAKE_EVENT } from './names';

/** Retries for activities that touch storage: a blip must not fail a weeks-long workflow. */
const STORAGE_RETRY = new df.RetryOptions(5000, 5);
STORAGE_RETRY.backoffCoefficient = 2;
STORAGE_RETRY.maxRetryIntervalInMilliseconds = 60_000;

type Gen<T> = Generator<Task, T, unknown>;

export function* offlineBackupOrchestrator(context: OrchestrationContext): Gen<string> {
  const input = context.df.getInput<OfflineWorkflowInput>();
  const name = input.name;
  const now = (): Date => context.df.currentUtcDateTime;
  const iso = (ms: number) => new Date(ms).toISOString();
  const status = (phase: string, extra: Record<string, unknown> = {}) =>
    context.df.setCustomStatus({ phase, ...extra });

  function* call<T>(fn: string, arg: unknown): Gen<StepResult<T>> {
    return (yield context.df.callActivityWithRetry(fn, STORAGE_RETRY, arg)) as StepResult<T>;
  }
  function* load(): Gen<WorkflowView | undefined> {
    const r = yield* call<{ view: WorkflowView }>(F.loadState, { name });
    return r.ok ? r.view : undefined;
  }
  function* record(patch: WorkflowPatch): Gen<WorkflowView | undefined> {
    const r = yield* call<{ view: WorkflowView }>(F.recordState, { name, patch, now: now().toISOString() });
    return r.ok ? r.view : undefined;
  }
  function* expire(reason: string): Gen<string> {
    status('Expired', { reason });
    yield* call(F.expire, { name, reason, now: now().toISOString() });
    return 'Expired';
  }
  function* fail(code: string, message: string): Gen<string> {
    status('Failed', { code, message });
    yield* call(F.fail, { name, code, message, now: now().toISOString() });
    return 'Failed';
  }
  /** Sleeps until `until` or at most MAX_TIMER_MS; with `wakeable`, a WAKE_EVENT ends it early. */
  function* sleep(until: number, wakeable: boolean): Gen<void> {
    const at = Math.min(until, now().getTime() + MAX_TIMER_MS);
    const timer = context.df.createTimer(new Date(at));
    if (!wakeable) {
      yield timer;
      return;
    }
    // A fresh waiter per slice: durable-functions hands an event to the newest waiter of that name.
    const wake = context.df.waitForExternalEvent(WAKE_EVENT);
    const winner = yield context.df.Task.any([timer, wake]);
    if (winner !== timer) timer.cancel();
  }
  const days = (ms: number) => Math.round(ms / DAY_MS);

  let view = yield* load();
  if (!view || TERMINAL_STATES.has(view.state)) return view?.state ?? 'Missing';

  // 1. Staging and diskprep: the helper creates the import job.
  if (view.stagingDeadline === undefined) {
    view = yield* record({ stagingDeadline: iso(now().getTime() + STAGING_DEADLINE_MS) });
  }
  while (view && !view.importJobCreated) {
    if (TERMINAL_STATES.has(view.state)) return view.state;
    const deadline = Date.parse(view.stagingDeadline ?? '');
    status('WaitingForStaging', { deadline: view.stagingDeadline });
    if (now().getTime() >= deadline) {
      return yield* expire(
        `No drives were prepared within ${days(STAGING_DEADLINE_MS)} days of initiating offline backup ${name} ` +
          `(deadline ${view.stagingDeadline}); the import job was deleted and the items wait for an online initial backup.`,
      );
    }
    yield* sleep(deadline, true);
    view = yield* load();
  }
  if (!view) return 'Missing';

  // 2. Shipping details within 14 days of the import job.
  if (view.trackingDeadline === undefined) {
    view = yield* record({
      state: 'WaitingForShipping',
      trackingDeadline: iso(now().getTime() + TRACKING_NUMBER_DEADLINE_MS),
    });
  }
  while (view && !view.shippingEntered) {
    if (TERMINAL_STATES.has(view.state)) return view.state;
    const deadline = Date.parse(view.trackingDeadline ?? '');
    status('WaitingForShipping', { deadline: view.trackingDeadline });
    if (now().getTime() >= deadline) {
      return yield* expire(
        `No tracking number was entered within ${days(TRACKING_NUMBER_DEADLINE_MS)} days of creating import job ${name} ` +
          `(deadline ${view.trackingDeadline}); the import job was deleted and the items wait for an online initial backup.`,
      );
    }
    yield* sleep(deadline, true);
    view = yield* load();
  }
  if (!view) return 'Missing';

  // 3. In transit and importing: poll on a schedule; the drives must arrive within 14 days.
  if (view.drivesDeadline === undefined) {
    view = yield* record({ state: 'InTransit', drivesDeadline: iso(now().getTime() + DRIVES_DEADLINE_MS) });
  }
  if (!view) return 'Missing';
  const drivesDeadline = Date.parse(view.drivesDeadline ?? '');
  for (;;) {
    const p = yield* call<{ state: string; failedDrives: string[]; bytesTransferred: number }>(F.pollImport, {
      name,
      now: now().toISOString(),
    });
    if (!p.ok) {
      if (p.code === OFFLINE_ERROR_CODES.JOB_DELETED) {
        const v = yield* load();
        if (v && TERMINAL_STATES.has(v.state)) return v.state;
      }
      return yield* fail(p.code, p.message);
    }
    status('InTransit', {
      importState: p.state,
      bytesTransferred: p.bytesTransferred,
      failedDrives: p.failedDrives,
    });
    if (p.state === 'Completed') {
      if (p.failedDrives.length > 0) {
        return yield* fail(
          OFFLINE_ERROR_CODES.FILE_CORRUPT,
          `Import job ${name} completed with failed drives (${p.failedDrives.join(' | ')}); nothing was copied into the vault.`,
        );
      }
      break;
    }
    if (p.state === 'Shipping' && now().getTime() >= drivesDeadline) {
      return yield* expire(
        `The drives did not reach the datacenter within ${days(DRIVES_DEADLINE_MS)} days of the shipping details ` +
          `(deadline ${view.drivesDeadline}); the import job was deleted and the items wait for an online initial backup.`,
      );
    }
    const next = now().getTime() + IMPORT_POLL_INTERVAL_MS;
    yield* sleep(p.state === 'Shipping' ? Math.min(next, drivesDeadline) : next, true);
    const v = yield* load();
    if (!v || TERMINAL_STATES.has(v.state)) return v?.state ?? 'Missing';
  }

  // 4. Wait for the items' next scheduled backup.
  const next = yield* call<{ at: string }>(F.nextScheduledBackup, { name, now: now().toISOString() });
  if (!next.ok) return yield* fail(next.code, next.message);
  yield* record({
    state: 'WaitingForScheduledBackup',
    importCompletedTime: now().toISOString(),
    scheduledCopyTime: next.at,
  });
  const copyAt = Date.parse(next.at);
  while (now().getTime() < copyAt) {
    status('WaitingForScheduledBackup', { at: next.at });
    yield* sleep(copyAt, false);
  }

  // 5. Copy into the vault, phase by phase (docs/format.md write order: points last).
  yield* record({ state: 'CopyingToVault' });
  const total: CopyResult = { objectsCopied: 0, objectsSkipped: 0, bytesCopied: 0 };
  for (const [i, units] of COPY_PHASES.entries()) {
    status('CopyingToVault', { phase: i, ...total });
    const tasks = units.map((unit) =>
      context.df.callActivityWithRetry(F.copyUnit, STORAGE_RETRY, { name, unit }),
    );
    const results = (yield context.df.Task.all(tasks)) as StepResult<CopyResult>[];
    for (const r of results) {
      if (!r.ok) return yield* fail(r.code, r.message);
      total.objectsCopied += r.objectsCopied;
      total.objectsSkipped += r.objectsSkipped;
      total.bytesCopied += r.bytesCopied;
    }
    yield* record({ copy: { ...total } });
  }

  // 6. Commit, clean, tell the helper.
  const committed = yield* call<{ points: number }>(F.commit, { name, now: now().toISOString() });
  if (!committed.ok) return yield* fail(committed.code, committed.message);
  yield* call(F.cleanImport, { name });
  yield* record({ state: 'Completed', stagingDeletable: true });
  status('Completed', { ...total });
  return 'Completed';
}
