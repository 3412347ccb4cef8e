// Rules that relate fields of a policy. Each mirrors a check Azure Backup makes when a VM policy is created
// or updated, as written in Azure PowerShell's client-side validation:
// Azure/azure-powershell src/RecoveryServices/RecoveryServices.Backup.Helpers/Validations/PolicyValidations.cs
// (PolicyHelpers.ValidateLongTermRetentionPolicyWithSimpleSchedulePolicy), quoted below as [PS-VAL].
// Azure also requires each retention rule's time to equal the schedule time; Strongbox rules carry no time
// (a rule keeps the day's point, whatever its time), so that check has nothing to check.
import type { DayOfWeek } from './calendar';
import { issueAt, type PolicyIssue } from './policyIssue';
import type { Policy } from './policy';

function sameDays(a: readonly DayOfWeek[], b: readonly DayOfWeek[]): boolean {
  const set = new Set(a);
  return a.length === b.length && b.every((day) => set.has(day));
}

/** Monthly and yearly rules under a weekly schedule: [PS-VAL] "if backupSchedule is weekly, then user
 * cannot choose 'Daily Retention format'", and their weekdays must be backup days. */
function longTermUnderWeeklySchedule(
  policy: Policy,
  scheduleDays: readonly DayOfWeek[],
  which: 'monthly' | 'yearly',
): PolicyIssue[] {
  const rule = policy.retention[which];
  if (rule === undefined) return [];
  if (rule.format === 'daysOfMonth') {
    return [
      issueAt(
        ['retention', which, 'format'],
        'must be "weekdaysOfMonth" with a weekly schedule (Azure: a day of the month is not always a backup day)',
      ),
    ];
  }
  return rule.daysOfWeek
    .map((day, i) => ({ day, i }))
    .filter(({ day }) => !scheduleDays.includes(day))
    .map(({ day, i }) =>
      issueAt(
        ['retention', which, 'daysOfWeek', i],
        `(${day}) must be one of the schedule's days ${scheduleDays.join(', ')} ` +
          '(Azure: monthly and yearly days of the week must be a subset of the backup days)',
      ),
    );
}

/** Every cross-field problem of a policy whose fields are individually valid. */
export function policyRuleIssues(policy: Policy): PolicyIssue[] {
  const { schedule, retention } = policy;
  if (schedule.frequency === 'daily') {
    // [PS-VAL] "for daily schedule, daily retention policy is required".
    return retention.daily === undefined
      ? [
          issueAt(
            ['retention', 'daily'],
            'is required with a daily schedule (Azure: daily backups need daily retention)',
          ),
        ]
      : [];
  }

  const issues: PolicyIssue[] = [];
  // [PS-VAL] "for weekly schedule, daily retention policy should be NULL AND weekly retention policy is required".
  if (retention.daily !== undefined) {
    issues.push(
      issueAt(
        ['retention', 'daily'],
        'must be absent with a weekly schedule (Azure: weekly backups have no daily retention)',
      ),
    );
  }
  if (retention.weekly === undefined) {
    issues.push(
      issueAt(
        ['retention', 'weekly'],
        'is required with a weekly schedule (Azure: weekly backups need weekly retention)',
      ),
    );
  } else if (!sameDays(retention.weekly.daysOfWeek, schedule.daysOfWeek)) {
    // [PS-VAL] "count of daysOfWeek should match for weekly schedule" plus every retention day must be a
    // schedule day: together, the same set of days.
    issues.push(
      issueAt(
        ['retention', 'weekly', 'daysOfWeek'],
        `must be the schedule's days (${schedule.daysOfWeek.join(', ')}) with a weekly schedule ` +
          '(Azure: weekly retention keeps every weekly backup)',
      ),
    );
  }
  issues.push(...longTermUnderWeeklySchedule(policy, schedule.daysOfWeek, 'monthly'));
  issues.push(...longTermUnderWeeklySchedule(policy, schedule.daysOfWeek, 'yearly'));
  return issues;
}
