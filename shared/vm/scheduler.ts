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
  for (const slot of dueSlots(policy.doc.policy.schedule, new Date(entry.protectedAt), now)) {
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
  await deps.state.dropSlotsBefore(key, new Date(now.getTime() - SCHEDULE_MARKER_TTL_MS).toISOString());
  return { started, alreadyStarted };
}
