// Scheduled backups. A timer ticks every few minutes and starts an orchestration that calls
// `startDueBackups` with the host's time. For each protected item it lists the policy's scheduled
// times of the last SCHEDULE_CATCH_UP_MS and starts one backup per time, exactly once:
//   1. a marker row per (item, time) is inserted if absent: only the tick that inserts it starts it;
//   2. the backup's instance id is derived from (item, time), so even a tick that crashed between the
//      marker and the start (and is repeated) cannot start a second instance: the host refuses a
//      running id, and an existing instance (running or finished) is never started again.
// So a timer that fires twice, or two hosts, or a re-run of this activity start each time once.
import { createHash, randomBytes } from 'node:crypto';
import { uuidV7 } from '../controlPlane/controlPlanePorts';
import { hasErrorCode } from '../errors';
import type { Schedule } from '../policy/policy';
import { runTimesBetween } from '../policy/schedule';
import type { VmDeps } from './vmDeps';
import { SCHEDULE_CATCH_UP_MS, SCHEDULE_MARKER_TTL_MS } from './vmLimits';
import { itemKey, type ScheduleEntryDoc } from './vmStateStore';
import { jobError } from './vmErrors';
import type { BackupInput } from './vmWorkflowTypes';

/** Starts a backup orchestration under a given instance id; 'exists' if that id was ever started. */
export interface BackupStarter {
  startBackup(instanceId: string, input: BackupInput): Promise<'started' | 'exists'>;
  /** True if an instance with this id exists (in any state). */
  exists(instanceId: string): Promise<boolean>;
}

/** The scheduled times to have started by `now`: in (max(protectedAt, now − catch-up), now]. */
export function dueSlots(
  schedule: Schedule,
  protectedAt: Date,
  now: Date,
  catchUpMs = SCHEDULE_CATCH_UP_MS,
): Date[] {
  const from = new Date(Math.max(protectedAt.getTime() + 1, now.getTime() - catchUpMs));
  if (from.getTime() > now.getTime()) return [];
  return runTimesBetween(schedule, from, new Date(now.getTime() + 1));
}

/** One instance id per (item, scheduled time); durable ids allow letters, digits, '-' and ':' here. */
export function scheduledBackupInstanceId(sub: string, vault: string, item: string, slot: Date): string {
  const h = createHash('sha256')
    .update(itemKey(sub, vault, item))
    .digest('hex')
    .slice(0, 24);
  return `vmbackup-sched-${h}-${slot.getTime()}`;
}

export interface SchedulerResult {
  readonly started: number;
  readonly alreadyStarted: number;
  readonly items: number;
  readonly errors: readonly string[];
}

export async function startDueBackups(
  deps: VmDeps,
  starter: BackupStarter,
  nowIso: string,
): Promise<SchedulerResult> {
  const now = new Date(nowIso);
  let started = 0;
  let alreadyStarted = 0;
  const errors: string[] = [];
  const entries = await deps.state.listSchedules();
  for (const entry of entries) {
    try {
      const r = await startForItem(deps, starter, entry, now);
      started += r.started;
      alreadyStarted += r.alreadyStarted;
    } catch (err) {
      // One item's trouble (its policy deleted, storage hiccup) must not stop the others' backups.
      errors.push(`${entry.vaultName}/${entry.itemName}: ${(err as Error).message}`);
    }
  }
  return { started, alreadyStarted, items: entries.length, errors };
}

async function startForItem(
  deps: VmDeps,
  starter: BackupStarter,
  entry: ScheduleEntryDoc,
  now: Date,
): Promise<{ started: number; alreadyStarted: number }> {
  const { subscriptionId: sub, vaultName: vault, itemName: item } = entry;
  let policy;
  try {
    policy = await deps.cp.policies.read(sub, vault, entry.policyName);
  } catch (err) {
    if (hasErrorCode(err, 'BackupPolicyNotFound') || hasErrorCode(err, 'VaultNotFound'))
      return { started: 0, alreadyStarted: 0 };
    throw err;
  }
  const key = itemKey(sub, vault, item);
  let started = 0;
  let alreadyStarted = 0;
  const due = dueSlots(policy.doc.policy.schedule, new Date(entry.protectedAt), now);
  await reportMissed(deps, entry, policy.doc.policy.schedule, now);
  for (const slot of due) {
    const slotIso = slot.toISOString();
    const instanceId = scheduledBackupInstanceId(sub, vault, item, slot);
    const claimed = await deps.state.claimSlot(key, slotIso);
    // Not claimed: another tick owns it. Start it only if that tick died before starting it.
    if (!claimed && (await starter.exists(instanceId))) {
      alreadyStarted++;
      continue;
    }
    const input: BackupInput = {
      sub,
      vault,
      item,
      jobId: uuidV7(slot, randomBytes(10)),
      trigger: 'scheduled',
      scheduledTime: slotIso,
    };
    if ((await starter.startBackup(instanceId, input)) === 'started') started++;
    else alreadyStarted++;
  }
  const newest = due[due.length - 1];
  // The entry as listed already says how far it got: most ticks find nothing new and write nothing.
  const handled = entry.lastSlotAt === undefined ? undefined : Date.parse(entry.lastSlotAt);
  if (newest && (handled === undefined || newest.getTime() > handled))
    await deps.state.advanceLastSlot(sub, vault, item, newest.toISOString());
  await deps.state.dropSlotsBefore(key, new Date(now.getTime() - SCHEDULE_MARKER_TTL_MS).toISOString());
  return { started, alreadyStarted };
}

/** The scheduled times after the last one handled that fell out of the catch-up window (pure). */
export function missedSlots(
  schedule: Schedule,
  protectedAt: Date,
  lastSlotAt: Date | undefined,
  now: Date,
  catchUpMs = SCHEDULE_CATCH_UP_MS,
): Date[] {
  // Without a watermark (an entry from before it was kept) nothing is known to be missed.
  if (lastSlotAt === undefined) return [];
  const from = new Date(Math.max(protectedAt.getTime(), lastSlotAt.getTime()) + 1);
  const to = new Date(now.getTime() - catchUpMs + 1); // exclusive; dueSlots starts after now − catch-up
  if (from.getTime() >= to.getTime()) return [];
  return runTimesBetween(schedule, from, to);
}

/**
 * Scheduled times the service slept through are not run late (Azure does not either), but they must
 * not pass silently: one Failed Backup job per item and gap, `BackupMissed`, says how many and when.
 * Its id is derived from the item and the last missed time, so a repeated tick reports it once; the
 * watermark then moves past the gap.
 */
async function reportMissed(deps: VmDeps, entry: ScheduleEntryDoc, schedule: Schedule, now: Date) {
  const { subscriptionId: sub, vaultName: vault, itemName: item } = entry;
  const missed = missedSlots(
    schedule,
    new Date(entry.protectedAt),
    entry.lastSlotAt === undefined ? undefined : new Date(entry.lastSlotAt),
    now,
  );
  const first = missed[0];
  const last = missed[missed.length - 1];
  if (!first || !last) return;
  const seed = createHash('sha256')
    .update(`missed|${itemKey(sub, vault, item)}|${last.toISOString()}`)
    .digest();
  const jobId = uuidV7(last, seed.subarray(0, 10));
  await deps.cp.jobs.ensure(sub, vault, { jobId, operation: 'Backup', itemName: item, status: 'InProgress' });
  const what =
    missed.length === 1
      ? `The scheduled backup at ${first.toISOString()} did not run`
      : `${missed.length} scheduled backups from ${first.toISOString()} to ${last.toISOString()} did not run`;
  await deps.cp.jobs.finish(sub, vault, jobId, {
    status: 'Failed',
    error: jobError('BackupMissed', what),
    extendedInfo: {
      trigger: 'scheduled',
      missedCount: missed.length,
      firstMissed: first.toISOString(),
      lastMissed: last.toISOString(),
    },
  });
  await deps.state.advanceLastSlot(sub, vault, item, last.toISOString());
}
