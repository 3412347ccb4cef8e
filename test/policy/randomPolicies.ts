// Seeded generators of valid policies and recovery points for the property tests. Every value comes from
// the seed, so a failure names a seed that replays it exactly.
import { DAYS_OF_WEEK, MONTHS_OF_YEAR, WEEKS_OF_MONTH, type DayOfWeek } from '../../shared/policy/calendar';
import type { MonthlyRetention, Policy, Schedule, YearlyRetention } from '../../shared/policy/policy';
import {
  DAILY_RETENTION_MAX_DAYS,
  INSTANT_RESTORE_MAX_DAYS,
  MONTHLY_RETENTION_MAX_MONTHS,
  WEEKLY_RETENTION_MAX_WEEKS,
  YEARLY_RETENTION_MAX_YEARS,
} from '../../shared/policy/policyLimits';
import type { RecoveryPointRef } from '../../shared/policy/retention';
import { runTimesBetween } from '../../shared/policy/schedule';
import { seededRandom } from '../../shared/blob/seededRandom';

export class Gen {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  bool(pTrue = 0.5): boolean {
    return this.next() < pTrue;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  /** A non-empty subset, in the list's order. */
  subset<T>(items: readonly T[], maxSize = items.length): T[] {
    const chosen = items.filter(() => this.bool(0.3));
    const result = chosen.length > 0 ? chosen : [this.pick(items)];
    return result.slice(0, maxSize);
  }
}

/** Zones with DST (both hemispheres), a 30-minute DST shift (Lord Howe), and fixed offsets. */
export const TIME_ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Tokyo',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
] as const;

const HALF_HOURS = Array.from(
  { length: 48 },
  (_, i) => `${String(Math.floor(i / 2)).padStart(2, '0')}:${i % 2 === 0 ? '00' : '30'}`,
);

export function randomSchedule(g: Gen): Schedule {
  const timeZone = g.pick(TIME_ZONES);
  const times = g.subset(HALF_HOURS, 2);
  return g.bool(0.7)
    ? { frequency: 'daily', timeZone, times }
    : { frequency: 'weekly', timeZone, daysOfWeek: g.subset(DAYS_OF_WEEK, 3), times };
}

function randomMonthDays(g: Gen, weekdays: readonly DayOfWeek[] | undefined) {
  if (weekdays === undefined && g.bool()) {
    const days = g.subset([1, 2, 7, 15, 28, 'Last'] as const, 2);
    return { format: 'daysOfMonth' as const, daysOfMonth: days };
  }
  return {
    format: 'weekdaysOfMonth' as const,
    weeksOfMonth: g.subset(WEEKS_OF_MONTH, 2),
    daysOfWeek: g.subset(weekdays ?? DAYS_OF_WEEK, 2),
  };
}

function randomMonthly(g: Gen, weekdays: readonly DayOfWeek[] | undefined): MonthlyRetention {
  return { months: g.int(1, 14), ...randomMonthDays(g, weekdays) };
}

function randomYearly(g: Gen, weekdays: readonly DayOfWeek[] | undefined): YearlyRetention {
  return { years: g.int(1, 3), monthsOfYear: g.subset(MONTHS_OF_YEAR, 3), ...randomMonthDays(g, weekdays) };
}

/** A policy that passes validatePolicy, with counts small enough to stay far below the point cap. */
export function randomPolicy(g: Gen, schedule: Schedule = randomSchedule(g)): Policy {
  // Under a weekly schedule Azure requires monthly/yearly weekdays to be backup days.
  const weekdays = schedule.frequency === 'weekly' ? schedule.daysOfWeek : undefined;
  const retention: Policy['retention'] =
    schedule.frequency === 'daily'
      ? {
          daily: { days: g.int(7, 40) },
          ...(g.bool() ? { weekly: { weeks: g.int(1, 10), daysOfWeek: g.subset(DAYS_OF_WEEK, 2) } } : {}),
        }
      : { weekly: { weeks: g.int(1, 10), daysOfWeek: [...schedule.daysOfWeek] } };
  if (g.bool()) retention.monthly = randomMonthly(g, weekdays);
  if (g.bool(0.4)) retention.yearly = randomYearly(g, weekdays);
  return { schedule, instantRestoreDays: g.int(1, 7), retention };
}

const grow = (g: Gen, value: number, max: number): number => Math.min(max, value + g.int(1, 20));

/**
 * A policy that keeps strictly more in every rule: each count grows (up to Azure's maximum), instant
 * restore grows, and missing monthly/yearly rules may appear. Selectors stay the same.
 */
export function widerPolicy(g: Gen, policy: Policy): Policy {
  const { daily, weekly, monthly, yearly } = policy.retention;
  const weekdays = policy.schedule.frequency === 'weekly' ? policy.schedule.daysOfWeek : undefined;
  const retention: Policy['retention'] = {};
  if (daily !== undefined) retention.daily = { days: grow(g, daily.days, DAILY_RETENTION_MAX_DAYS) };
  if (weekly !== undefined)
    retention.weekly = { ...weekly, weeks: grow(g, weekly.weeks, WEEKLY_RETENTION_MAX_WEEKS) };
  if (monthly !== undefined) {
    retention.monthly = { ...monthly, months: grow(g, monthly.months, MONTHLY_RETENTION_MAX_MONTHS) };
  } else if (g.bool()) retention.monthly = randomMonthly(g, weekdays);
  if (yearly !== undefined) {
    retention.yearly = { ...yearly, years: grow(g, yearly.years, YEARLY_RETENTION_MAX_YEARS) };
  } else if (g.bool()) retention.yearly = randomYearly(g, weekdays);
  return {
    schedule: policy.schedule,
    instantRestoreDays: grow(g, policy.instantRestoreDays, INSTANT_RESTORE_MAX_DAYS),
    retention,
  };
}

const MS_PER_DAY = 86_400_000;
const EARLIEST = Date.UTC(2019, 0, 1);

/** A random "now" between 2021 and 2025, with room for the history before it. */
export function randomNow(g: Gen): Date {
  return new Date(
    EARLIEST + 2 * 365 * MS_PER_DAY + g.int(0, 4 * 365) * MS_PER_DAY + g.int(0, MS_PER_DAY - 1),
  );
}

/**
 * Up to 400 days of history before `now`: the runs of `schedule` with gaps (failed backups), some extra
 * scheduled points at odd times (retries, an older schedule), and ad-hoc points with and without retainUntil.
 */
export function randomPoints(g: Gen, schedule: Schedule, now: Date): RecoveryPointRef[] {
  const from = new Date(now.getTime() - g.int(30, 400) * MS_PER_DAY);
  const points: RecoveryPointRef[] = [];
  let n = 0;
  const id = (prefix: string) => `${prefix}${String(n++).padStart(5, '0')}`;
  for (const time of runTimesBetween(schedule, from, now)) {
    if (g.bool(0.9)) points.push({ id: id('s'), time, kind: 'scheduled' });
  }
  const span = now.getTime() - from.getTime();
  for (let i = g.int(0, 20); i > 0; i -= 1) {
    points.push({ id: id('x'), time: new Date(from.getTime() + g.int(0, span)), kind: 'scheduled' });
  }
  for (let i = g.int(0, 10); i > 0; i -= 1) {
    const time = new Date(from.getTime() + g.int(0, span));
    const retainUntil = g.bool(0.7)
      ? { retainUntil: new Date(time.getTime() + g.int(0, 400) * MS_PER_DAY) }
      : {};
    points.push({ id: id('a'), time, kind: 'adhoc', ...retainUntil });
  }
  return points;
}

/** Runs `check`, prefixing any failure with the seed that reproduces it. */
export function withSeed(seed: number, check: () => void): void {
  try {
    check();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`property failed for seed ${seed} (replay it with seeds(${seed}, 1)):\n${message}`, {
      cause: err,
    });
  }
}

/** `count` consecutive seeds from `base`: fixed, so every run (and CI) checks the same cases. */
export function seeds(base: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => base + i);
}
