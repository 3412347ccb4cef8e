// Which GFS rules keep a scheduled point, and through which local day. A rule keeps a point through the
// last day of its duration counted from the point's own day: a point of day d kept "N days" is kept on
// days d .. d+N and expires at the start of day d+N+1. Counting from the point's day (not from today) is how
// Azure ages recovery points (expiry = backup time + duration), at whole-day granularity in the policy's
// zone, so a point always lives at least its full duration.
import {
  addMonths,
  addYears,
  dayOfWeekOf,
  isLastDayOfMonth,
  monthOfYearOf,
  weeksOfMonthOf,
  calendarDateOf,
} from './calendar';
import type { MonthlyRetention, Policy, YearlyRetention } from './policy';

/** The rules that keep the day's point (the latest scheduled point of a local day). */
export type DayPointRule = 'daily' | 'weekly' | 'monthly' | 'yearly';

type DaySelector = MonthlyRetention | YearlyRetention;

/** True if the local date is one of the days a monthly or yearly rule names. */
function isSelectedDayOfMonth(selector: DaySelector, epochDay: number): boolean {
  if (selector.format === 'daysOfMonth') {
    const { day } = calendarDateOf(epochDay);
    return selector.daysOfMonth.some((d) => (d === 'Last' ? isLastDayOfMonth(epochDay) : d === day));
  }
  if (!selector.daysOfWeek.includes(dayOfWeekOf(epochDay))) return false;
  const weeks = weeksOfMonthOf(epochDay);
  return selector.weeksOfMonth.some((w) => weeks.includes(w));
}

/**
 * For the day's point of local day `epochDay`: each rule that selects that day, with the last local day it
 * keeps the point. Rules that do not select the day are absent.
 */
export function dayPointRuleEnds(policy: Policy, epochDay: number): Map<DayPointRule, number> {
  const { daily, weekly, monthly, yearly } = policy.retention;
  const ends = new Map<DayPointRule, number>();
  if (daily !== undefined) ends.set('daily', epochDay + daily.days);
  if (weekly !== undefined && weekly.daysOfWeek.includes(dayOfWeekOf(epochDay))) {
    ends.set('weekly', epochDay + 7 * weekly.weeks);
  }
  if (monthly !== undefined && isSelectedDayOfMonth(monthly, epochDay)) {
    ends.set('monthly', addMonths(epochDay, monthly.months));
  }
  if (
    yearly !== undefined &&
    yearly.monthsOfYear.includes(monthOfYearOf(epochDay)) &&
    isSelectedDayOfMonth(yearly, epochDay)
  ) {
    ends.set('yearly', addYears(epochDay, yearly.years));
  }
  return ends;
}

/** The last local day the Instant Restore rule keeps any scheduled point of day `epochDay`. */
export function instantRestoreEnd(policy: Policy, epochDay: number): number {
  return epochDay + policy.instantRestoreDays;
}
