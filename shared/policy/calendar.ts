// Proleptic Gregorian calendar arithmetic on "epoch days" (days since 1970-01-01). A local calendar date is
// a plain integer here, so adding days, weeks, months and years is exact and has no time zone in it; the
// zone only matters when an instant is mapped to a date or back (zonedTime.ts).

export const MS_PER_DAY = 86_400_000;

/** Day-of-week names in JavaScript's order (getUTCDay: 0 = Sunday). Azure uses the same English names. */
export const DAYS_OF_WEEK = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

/** Month names, January first; the index + 1 is the month number. */
export const MONTHS_OF_YEAR = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
export type MonthOfYear = (typeof MONTHS_OF_YEAR)[number];

/** Azure's relative weeks of a month: days 1-7 are the First week, 8-14 the Second, and so on. */
export const WEEKS_OF_MONTH = ['First', 'Second', 'Third', 'Fourth', 'Last'] as const;
export type WeekOfMonth = (typeof WEEKS_OF_MONTH)[number];

export interface CalendarDate {
  readonly year: number;
  /** 1 to 12. */
  readonly month: number;
  /** 1 to 31. */
  readonly day: number;
}

export function epochDayOf(date: CalendarDate): number {
  return Math.floor(Date.UTC(date.year, date.month - 1, date.day) / MS_PER_DAY);
}

export function calendarDateOf(epochDay: number): CalendarDate {
  const d = new Date(epochDay * MS_PER_DAY);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** 0 = Sunday. 1970-01-01 was a Thursday (4). */
export function dayOfWeekIndex(epochDay: number): number {
  return (((epochDay + 4) % 7) + 7) % 7;
}

export function dayOfWeekOf(epochDay: number): DayOfWeek {
  return DAYS_OF_WEEK[dayOfWeekIndex(epochDay)] ?? 'Sunday';
}

export function monthOfYearOf(epochDay: number): MonthOfYear {
  return MONTHS_OF_YEAR[calendarDateOf(epochDay).month - 1] ?? 'January';
}

export function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * `months` calendar months after `epochDay`, the day clamped to the target month's length (Jan 31 + 1 month
 * = Feb 28 or 29). This is .NET's DateTime.AddMonths, which Azure uses for "retain N months".
 */
export function addMonths(epochDay: number, months: number): number {
  const { year, month, day } = calendarDateOf(epochDay);
  const zeroBased = month - 1 + months;
  const targetYear = year + Math.floor(zeroBased / 12);
  const targetMonth = (((zeroBased % 12) + 12) % 12) + 1;
  return epochDayOf({
    year: targetYear,
    month: targetMonth,
    day: Math.min(day, daysInMonth(targetYear, targetMonth)),
  });
}

/** `years` calendar years after `epochDay`; Feb 29 becomes Feb 28 in a common year (.NET AddYears). */
export function addYears(epochDay: number, years: number): number {
  return addMonths(epochDay, years * 12);
}

/** True if the date is the last day of its month. */
export function isLastDayOfMonth(epochDay: number): boolean {
  const { year, month, day } = calendarDateOf(epochDay);
  return day === daysInMonth(year, month);
}

/**
 * The relative weeks of the month a date falls in: one of First..Fourth by its day number (day 29-31 is in
 * none of them), plus Last when no later date in the month has the same weekday. A date can be both
 * Fourth and Last.
 */
export function weeksOfMonthOf(epochDay: number): WeekOfMonth[] {
  const { year, month, day } = calendarDateOf(epochDay);
  const weeks: WeekOfMonth[] = [];
  const ordinal = WEEKS_OF_MONTH[Math.floor((day - 1) / 7)];
  if (ordinal !== undefined && ordinal !== 'Last') weeks.push(ordinal);
  if (day + 7 > daysInMonth(year, month)) weeks.push('Last');
  return weeks;
}

/** ISO yyyy-mm-dd, for messages and tests. */
export function formatEpochDay(epochDay: number): string {
  const { year, month, day } = calendarDateOf(epochDay);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
