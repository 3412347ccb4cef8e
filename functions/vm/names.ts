// Every durable name of the VM workflows, in one place (STYLE.md §9): orchestrations, activities, the
// item-queue entity, external events and timers. Names are part of durable history: renaming one
// breaks instances in flight, so never rename, only add.

export const ORCHESTRATORS = {
  discover: 'vmDiscover',
  register: 'vmRegister',
  protect: 'vmProtect',
  backup: 'vmBackup',
  restore: 'vmRestore',
  stopProtection: 'vmStopProtection',
  scheduler: 'vmScheduler',
  retention: 'vmRetention',
  verify: 'vmVerify',
} as const;

export const ACTIVITIES = {
  jobEnsure: 'vmJobEnsure',
  jobRunning: 'vmJobRunning',
  jobProgress: 'vmJobProgress',
  jobFinish: 'vmJobFinish',
  jobCancelRequested: 'vmJobCancelRequested',
  wakeQueued: 'vmWakeQueued',
  instanceFinished: 'vmInstanceFinished',
  discover: 'vmDiscoverActivity',
  register: 'vmRegisterActivity',
  configureProtection: 'vmConfigureProtection',
  stopProtection: 'vmStopProtectionActivity',
  deleteBackupData: 'vmDeleteBackupData',
  backupPrepare: 'vmBackupPrepare',
  backupSnapshot: 'vmBackupSnapshot',
  backupPlan: 'vmBackupPlan',
  backupSegment: 'vmBackupSegment',
  backupCommit: 'vmBackupCommit',
  backupAbandon: 'vmBackupAbandon',
  releaseSnapshots: 'vmReleaseSnapshots',
  markItemFailed: 'vmMarkItemFailed',
  restorePrepare: 'vmRestorePrepare',
  restoreDisks: 'vmRestoreDisks',
  restoreSegment: 'vmRestoreSegment',
  restoreFinish: 'vmRestoreFinish',
  restoreAbandon: 'vmRestoreAbandon',
  startDueBackups: 'vmStartDueBackups',
  retentionVaults: 'vmRetentionVaults',
  vaultItems: 'vmVaultItems',
  expirePoints: 'vmExpirePoints',
  collectGarbage: 'vmCollectGarbage',
  verifyJobStart: 'vmVerifyJobStart',
  verifyVault: 'vmVerifyVault',
} as const;

/** The per-item queue (itemQueue.entity.ts); its key is shared/vm itemKey(sub, vault, item). */
export const ITEM_QUEUE_ENTITY = 'vmItemQueue';
export const ITEM_QUEUE_OPS = {
  enqueue: 'enqueue',
  tryAcquire: 'tryAcquire',
  release: 'release',
} as const;

/** Raised on a queued operation when it reaches the head of its item's queue. */
export const ITEM_TURN_EVENT = 'vmItemTurn';

export const TIMERS = {
  scheduler: 'vmSchedulerTick',
  retention: 'vmRetentionTick',
  verify: 'vmVerifyTick',
} as const;

/**
 * NCRONTAB schedules. Policies schedule on the hour and half hour, so a 5-minute tick starts a backup
 * at most 5 minutes late; retention runs hourly (its work is idempotent, and it is cheap when nothing
 * expired).
 */
export const SCHEDULER_CRON = '0 */5 * * * *';
export const RETENTION_CRON = '0 0 * * * *';
/**
 * Verify runs daily at 03:30 UTC: between retention's hourly passes (on the hour), and after the
 * night's backups have mostly ended (docs/verify.md).
 */
export const VERIFY_CRON = '0 30 3 * * *';

/** Singleton instance ids: one scheduler tick and one retention pass at a time. */
export const SCHEDULER_INSTANCE_ID = 'vm-scheduler';
export const RETENTION_INSTANCE_ID = 'vm-retention';
/** One verify run at a time; a run's jobs are per (vault, day), so a second tick the same day redoes nothing. */
export const VERIFY_INSTANCE_ID = 'vm-verify';

/** Discovery runs once per vault at a time: its instance id is the vault's. */
export function discoveryInstanceId(sub: string, vault: string): string {
  return `vm-discover-${sub.toLowerCase()}-${vault.toLowerCase()}`;
}

/** Instance ids of operations started by the API carry their job id. */
export function operationInstanceId(operation: string, jobId: string): string {
  return `vm-${operation.toLowerCase()}-${jobId}`;
}
