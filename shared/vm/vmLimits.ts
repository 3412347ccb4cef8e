// Limits and safety settings of the VM workflows, as named constants with units and reasons.

/** Azure: an Azure VM backup supports VMs with up to 32 data disks (the default of the configurable limit). */
export const DEFAULT_MAX_DATA_DISKS = 32;

/**
 * Work units of the transfer: a disk's backup plan is cut into segments so that each segment activity
 * finishes well inside 2 minutes. 8 segments per disk give a kill-and-resume something to resume and
 * the fan-out something to spread; never below 8 MiB (per-segment overhead: a session object and an
 * index blob) nor above 512 MiB (~4 s at the local pipeline's 150 MB/s, < 1 min at 10 MB/s).
 */
export const SEGMENTS_PER_DISK_TARGET = 8;
export const MIN_SEGMENT_BYTES = 8 * 1024 * 1024;
export const MAX_SEGMENT_BYTES = 512 * 1024 * 1024;
/** Restores are cut the same way (a restore segment is one `restoreDisk` call with a range). */
export const MAX_RESTORE_SEGMENT_BYTES = 512 * 1024 * 1024;

/** Segment activities in flight per backup or restore (the host runs at most 20 activities at once). */
export const TRANSFER_FAN_OUT = 4;

/** Azure Backup waits about a minute for VSS / fsfreeze before it takes a file-system-consistent snapshot. */
export const FREEZE_TIMEOUT_MS = 60_000;
/** A snapshot of all disks that takes longer than this failed (agent or storage not answering). */
export const SNAPSHOT_TIMEOUT_MS = 90_000;
/**
 * The whole transfer of one backup must finish within this (orchestration time); past it the backup
 * fails with CopyTimedOut and the next backup starts from the last recovery point.
 */
export const COPY_DEADLINE_MS = 8 * 60 * 60 * 1000;

/** A queued operation re-checks its item's queue this often, in case the holder died without releasing. */
export const QUEUE_RECHECK_MS = 5 * 60 * 1000;

/** Azure: an on-demand backup may be retained for at most 99 years (default: policyLimits' 30 days). */
export const ADHOC_RETENTION_MAX_DAYS = 99 * 365;

/**
 * The scheduler looks back this far for scheduled times that have not started: a tick that was late
 * (host down, clock advanced) still starts the backups of the last day once each; older ones are missed,
 * as Azure misses them, rather than run as a burst.
 */
export const SCHEDULE_CATCH_UP_MS = 24 * 60 * 60 * 1000;
/** Started-slot markers older than this are deleted (twice the look-back: never needed again). */
export const SCHEDULE_MARKER_TTL_MS = 2 * SCHEDULE_CATCH_UP_MS;

/** Items per register or protect request (each becomes its own job). */
export const MAX_ITEMS_PER_REQUEST = 100;
