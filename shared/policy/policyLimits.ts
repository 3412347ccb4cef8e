// Azure Backup limits for VM backup policies that Strongbox enforces, with units and sources. Numbers only,
// so the schema, the validator, the planner and the tests share one copy.
//
// Sources (cited below by tag):
// [PS-RET]  Azure/azure-powershell src/RecoveryServices/RecoveryServices.Backup.Models/CommonModels/
//           PolicyRetentionObjects.cs (DailyRetentionSchedule/WeeklyRetentionSchedule/... Validate)
// [PS-CONST] same folder, Utils.cs (class PolicyConstants)
// [PS-SCHED] same folder, PolicyScheduleObjects.cs (SimpleSchedulePolicy.Validate)
// [VM-FAQ]  learn.microsoft.com/azure/backup/backup-azure-vm-backup-faq
// [FAQ]     learn.microsoft.com/azure/backup/backup-azure-backup-faq ("Is there a limit on the number of
//           recovery points that can be created?")
// [ENH]     learn.microsoft.com/azure/backup/backup-azure-vms-enhanced-policy
// [PREP]    learn.microsoft.com/azure/backup/backup-azure-arm-vms-prepare ("The default policy backs up the VM
//           once a day. The daily backups are retained for 30 days. Instant recovery snapshots are retained
//           for two days.")

/** [PS-RET], [VM-FAQ]: daily retention is 7 to 9,999 days for Azure VM policies. */
export const DAILY_RETENTION_MIN_DAYS = 7;
export const DAILY_RETENTION_MAX_DAYS = 9999;

/** [PS-RET], [PS-CONST] MaxAllowedRetentionDurationCountWeekly: weekly retention is 1 to 5,163 weeks. */
export const WEEKLY_RETENTION_MIN_WEEKS = 1;
export const WEEKLY_RETENTION_MAX_WEEKS = 5163;

/** [PS-RET], [PS-CONST] MaxAllowedRetentionDurationCountMonthly: monthly retention is 1 to 1,188 months. */
export const MONTHLY_RETENTION_MIN_MONTHS = 1;
export const MONTHLY_RETENTION_MAX_MONTHS = 1188;

/** [PS-RET], [PS-CONST] MaxAllowedRetentionDurationCountYearly: yearly retention is 1 to 99 years. */
export const YEARLY_RETENTION_MIN_YEARS = 1;
export const YEARLY_RETENTION_MAX_YEARS = 99;

/**
 * [PS-CONST] MaxAllowedDateInMonth: a monthly or yearly rule names days 1 to 28 of the month, plus "Last",
 * so every named day exists in every month.
 */
export const RETENTION_MAX_DAY_OF_MONTH = 28;

/** [FAQ]: at most 9,999 recovery points per protected instance (item). */
export const MAX_RECOVERY_POINTS_PER_ITEM = 9999;

/**
 * [PS-SCHED]: a scheduled time is a multiple of 30 minutes ("ScheduleTimes must be of multiples of 30 Mins
 * with Seconds and milliseconds set to 0").
 */
export const SCHEDULE_TIME_STEP_MINUTES = 30;

/**
 * Standard policies run once a day and Enhanced ones at most every 4 hours [ENH], so a day has at most
 * 24 / 4 = 6 scheduled runs. Strongbox lists the times explicitly instead of an interval and a window.
 */
export const MAX_SCHEDULE_TIMES_PER_DAY = 6;

/**
 * [ENH]: the Instant Restore (snapshot) retention of an Enhanced policy is 1 to 30 days (Standard policies
 * allow 1 to 5). Strongbox uses it for the points of a day that are not the day's daily point.
 */
export const INSTANT_RESTORE_MIN_DAYS = 1;
export const INSTANT_RESTORE_MAX_DAYS = 30;

/** [PREP]: Azure's DefaultPolicy keeps daily points 30 days and instant-restore snapshots 2 days. */
export const DEFAULT_POLICY_DAILY_RETENTION_DAYS = 30;
export const DEFAULT_POLICY_INSTANT_RESTORE_DAYS = 2;

/** [VM-FAQ]: an on-demand backup without an explicit retention is kept 30 days ("when triggered from the portal"). */
export const ADHOC_DEFAULT_RETENTION_DAYS = 30;
