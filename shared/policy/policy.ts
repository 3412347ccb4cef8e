// The backup policy model (schedule + GFS retention) after Azure Backup's VM policy, as strict zod schemas.
// Field rules live in the schemas; rules that relate fields (a weekly schedule needs weekly retention on the
// same days, ...) are in policyRules.ts. Use validatePolicy() on anything that crosses a trust boundary.
import { z } from 'zod';
import { DAYS_OF_WEEK, MONTHS_OF_YEAR, WEEKS_OF_MONTH } from './calendar';
import {
  DAILY_RETENTION_MAX_DAYS,
  DAILY_RETENTION_MIN_DAYS,
  DEFAULT_POLICY_DAILY_RETENTION_DAYS,
  DEFAULT_POLICY_INSTANT_RESTORE_DAYS,
  INSTANT_RESTORE_MAX_DAYS,
  INSTANT_RESTORE_MIN_DAYS,
  MAX_SCHEDULE_TIMES_PER_DAY,
  MONTHLY_RETENTION_MAX_MONTHS,
  MONTHLY_RETENTION_MIN_MONTHS,
  RETENTION_MAX_DAY_OF_MONTH,
  SCHEDULE_TIME_STEP_MINUTES,
  WEEKLY_RETENTION_MAX_WEEKS,
  WEEKLY_RETENTION_MIN_WEEKS,
  YEARLY_RETENTION_MAX_YEARS,
  YEARLY_RETENTION_MIN_YEARS,
} from './policyLimits';
import { issueAt, type PolicyIssue } from './policyIssue';
import { policyRuleIssues } from './policyRules';
import { isIanaTimeZone } from './zonedTime';

/** Error code of a rejected policy (STYLE §4: codes are namespaced strings). */
export const POLICY_INVALID = 'POLICY.INVALID';

/**
 * Azure names no fixed time for its DefaultPolicy (each vault gets its own); Strongbox picks 22:30 local,
 * outside business hours as the VM backup FAQ recommends.
 */
export const DEFAULT_POLICY_TIME = '22:30';

// --- messages --------------------------------------------------------------------------------------------

type IssueInput = { readonly input?: unknown };
/** zod reports a missing field as a type error; say "is required" instead of "must be ...". */
const requiredOr =
  (message: string) =>
  (issue: IssueInput): string =>
    issue.input === undefined ? 'is required' : message;

const objectError = (issue: IssueInput & { readonly code?: string }): string =>
  issue.code === 'unrecognized_keys' ? 'has an unknown field' : requiredOr('must be an object')(issue);

function intRange(min: number, max: number, unit: string, rule: string) {
  const message = `must be a whole number of ${unit} from ${min} to ${max} (${rule})`;
  return z
    .int({ error: requiredOr(message) })
    .min(min, { error: message })
    .max(max, { error: message });
}

function hasNoDuplicates(values: readonly unknown[]): boolean {
  return new Set(values).size === values.length;
}

/** A non-empty list without repeats. Azure rejects repeated days ("DaysOfTheWeek.Count != Distinct()"). */
function uniqueList<T extends z.ZodType>(item: T, what: string) {
  return z
    .array(item, { error: requiredOr(`must be a list of ${what}`) })
    .min(1, { error: `must list at least one ${what}` })
    .refine(hasNoDuplicates, { error: `must not repeat a ${what}` });
}

// --- leaves ----------------------------------------------------------------------------------------------

const dayOfWeek = z.enum(DAYS_OF_WEEK, { error: `must be one of ${DAYS_OF_WEEK.join(', ')}` });
const monthOfYear = z.enum(MONTHS_OF_YEAR, { error: `must be one of ${MONTHS_OF_YEAR.join(', ')}` });
const weekOfMonth = z.enum(WEEKS_OF_MONTH, { error: `must be one of ${WEEKS_OF_MONTH.join(', ')}` });

const DAY_OF_MONTH_MESSAGE =
  `must be a day from 1 to ${RETENTION_MAX_DAY_OF_MONTH} or "Last" ` +
  '(Azure: named days must exist in every month; use "Last" for the month end)';
const dayOfMonth = z.union(
  [
    z
      .int({ error: DAY_OF_MONTH_MESSAGE })
      .min(1, { error: DAY_OF_MONTH_MESSAGE })
      .max(RETENTION_MAX_DAY_OF_MONTH, { error: DAY_OF_MONTH_MESSAGE }),
    z.literal('Last', { error: DAY_OF_MONTH_MESSAGE }),
  ],
  { error: DAY_OF_MONTH_MESSAGE },
);

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const scheduleTime = z
  .string({ error: requiredOr('must be a time of day "HH:mm"') })
  .regex(HH_MM, { error: 'must be a 24-hour time of day "HH:mm"' })
  .refine((t) => Number(t.slice(3)) % SCHEDULE_TIME_STEP_MINUTES === 0, {
    error: `must be on the hour or half hour (Azure: schedule times are multiples of ${SCHEDULE_TIME_STEP_MINUTES} minutes)`,
  });

const timeZone = z.string({ error: requiredOr('must be an IANA time zone name') }).refine(isIanaTimeZone, {
  error: 'must be an IANA time zone name such as "Europe/Berlin" or "UTC" (not an abbreviation or offset)',
});

// --- schedule --------------------------------------------------------------------------------------------

const scheduleTimes = uniqueList(scheduleTime, 'time').max(MAX_SCHEDULE_TIMES_PER_DAY, {
  error: `must list at most ${MAX_SCHEDULE_TIMES_PER_DAY} times (Azure: at most one backup every 4 hours)`,
});

export const DailyScheduleSchema = z.strictObject(
  { frequency: z.literal('daily'), timeZone, times: scheduleTimes },
  { error: objectError },
);

export const WeeklyScheduleSchema = z.strictObject(
  {
    frequency: z.literal('weekly'),
    timeZone,
    daysOfWeek: uniqueList(dayOfWeek, 'day of the week'),
    times: scheduleTimes,
  },
  { error: objectError },
);

export const ScheduleSchema = z.discriminatedUnion('frequency', [DailyScheduleSchema, WeeklyScheduleSchema], {
  error: requiredOr('must have frequency "daily" or "weekly"'),
});

// --- retention -------------------------------------------------------------------------------------------

export const DailyRetentionSchema = z.strictObject(
  {
    days: intRange(
      DAILY_RETENTION_MIN_DAYS,
      DAILY_RETENTION_MAX_DAYS,
      'days',
      'Azure: daily retention range',
    ),
  },
  { error: objectError },
);

export const WeeklyRetentionSchema = z.strictObject(
  {
    weeks: intRange(
      WEEKLY_RETENTION_MIN_WEEKS,
      WEEKLY_RETENTION_MAX_WEEKS,
      'weeks',
      'Azure: weekly retention range',
    ),
    daysOfWeek: uniqueList(dayOfWeek, 'day of the week'),
  },
  { error: objectError },
);

/** Which days of a month a monthly or yearly rule keeps: Azure's "Day based" and "Week based" formats. */
const byDaysOfMonth = {
  format: z.literal('daysOfMonth'),
  daysOfMonth: uniqueList(dayOfMonth, 'day of the month'),
};
const byWeekdaysOfMonth = {
  format: z.literal('weekdaysOfMonth'),
  weeksOfMonth: uniqueList(weekOfMonth, 'week of the month'),
  daysOfWeek: uniqueList(dayOfWeek, 'day of the week'),
};
const FORMAT_ERROR = requiredOr('must have format "daysOfMonth" or "weekdaysOfMonth"');

const months = intRange(
  MONTHLY_RETENTION_MIN_MONTHS,
  MONTHLY_RETENTION_MAX_MONTHS,
  'months',
  'Azure: monthly retention range',
);
export const MonthlyRetentionSchema = z.discriminatedUnion(
  'format',
  [
    z.strictObject({ months, ...byDaysOfMonth }, { error: objectError }),
    z.strictObject({ months, ...byWeekdaysOfMonth }, { error: objectError }),
  ],
  { error: FORMAT_ERROR },
);

const years = intRange(
  YEARLY_RETENTION_MIN_YEARS,
  YEARLY_RETENTION_MAX_YEARS,
  'years',
  'Azure: yearly retention range',
);
const monthsOfYear = uniqueList(monthOfYear, 'month');
export const YearlyRetentionSchema = z.discriminatedUnion(
  'format',
  [
    z.strictObject({ years, monthsOfYear, ...byDaysOfMonth }, { error: objectError }),
    z.strictObject({ years, monthsOfYear, ...byWeekdaysOfMonth }, { error: objectError }),
  ],
  { error: FORMAT_ERROR },
);

export const RetentionSchema = z.strictObject(
  {
    daily: DailyRetentionSchema.optional(),
    weekly: WeeklyRetentionSchema.optional(),
    monthly: MonthlyRetentionSchema.optional(),
    yearly: YearlyRetentionSchema.optional(),
  },
  { error: objectError },
);

// --- policy ----------------------------------------------------------------------------------------------

export const PolicySchema = z.strictObject(
  {
    schedule: ScheduleSchema,
    /** Every scheduled point is kept this many days after its day (Azure's Instant Restore retention). */
    instantRestoreDays: intRange(
      INSTANT_RESTORE_MIN_DAYS,
      INSTANT_RESTORE_MAX_DAYS,
      'days',
      'Azure: Enhanced policy instant restore range',
    ),
    retention: RetentionSchema,
  },
  { error: objectError },
);

export type Policy = z.infer<typeof PolicySchema>;
export type Schedule = z.infer<typeof ScheduleSchema>;
export type DailySchedule = z.infer<typeof DailyScheduleSchema>;
export type WeeklySchedule = z.infer<typeof WeeklyScheduleSchema>;
export type Retention = z.infer<typeof RetentionSchema>;
export type DailyRetention = z.infer<typeof DailyRetentionSchema>;
export type WeeklyRetention = z.infer<typeof WeeklyRetentionSchema>;
export type MonthlyRetention = z.infer<typeof MonthlyRetentionSchema>;
export type YearlyRetention = z.infer<typeof YearlyRetentionSchema>;
export type DayOfMonth = z.infer<typeof dayOfMonth>;

/** Azure's DefaultPolicy for VMs: one backup a day, daily points kept 30 days, snapshots 2 days. */
export function defaultPolicy(timeZone = 'UTC'): Policy {
  return {
    schedule: { frequency: 'daily', timeZone, times: [DEFAULT_POLICY_TIME] },
    instantRestoreDays: DEFAULT_POLICY_INSTANT_RESTORE_DAYS,
    retention: { daily: { days: DEFAULT_POLICY_DAILY_RETENTION_DAYS } },
  };
}

// --- validation ------------------------------------------------------------------------------------------

export type { PolicyIssue };

export type PolicyValidation =
  | { readonly ok: true; readonly policy: Policy }
  | { readonly ok: false; readonly code: typeof POLICY_INVALID; readonly issues: readonly PolicyIssue[] };

function zodIssues(error: z.ZodError): PolicyIssue[] {
  return error.issues.flatMap((issue): PolicyIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      // One issue per field, at the field, so a client can point at it.
      return issue.keys.map((key) =>
        issueAt(
          [...issue.path, key],
          'is not a known field (policies are strict: a misspelt field is rejected, not ignored)',
        ),
      );
    }
    return [issueAt(issue.path, issue.message)];
  });
}

/**
 * Checks a policy from outside (an HTTP body, a stored row): every field rule, then, if those pass, the rules
 * across fields. Returns every problem found rather than throwing.
 */
export function validatePolicy(input: unknown): PolicyValidation {
  const parsed = PolicySchema.safeParse(input);
  if (!parsed.success) return { ok: false, code: POLICY_INVALID, issues: zodIssues(parsed.error) };
  const issues = policyRuleIssues(parsed.data);
  if (issues.length > 0) return { ok: false, code: POLICY_INVALID, issues };
  return { ok: true, policy: parsed.data };
}
