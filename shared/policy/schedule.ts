// When a schedule runs. Times of day are wall-clock times in the schedule's zone, so a 22:30 backup stays at
// 22:30 local across DST changes. Wall times that do not exist or exist twice are resolved as in
// zonedTime.ts: a time in the spring-forward gap runs shifted forward by the gap (02:30 -> 03:30), and a
// time in the fall-back overlap runs once, at its first occurrence. Two schedule times that resolve to one
// instant (02:30 and 03:30 on a spring-forward day) are one run.
import { dayOfWeekOf } from './calendar';
import type { Schedule } from './policy';
import { localEpochDayOf, zonedTimeToUtc } from './zonedTime';

/**
 * Days scanned past the day that completed the count. A day's runs can move forward by at most the length
 * of a gap (under a day, even for Samoa's skipped 2011-12-30), so later days cannot hold earlier runs.
 */
const LOOKAHEAD_DAYS = 3;

function minutesOfDay(schedule: Schedule): number[] {
  const minutes = schedule.times.map((t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5)));
  return [...new Set(minutes)].sort((a, b) => a - b);
}

function runsOn(schedule: Schedule, epochDay: number): boolean {
  return schedule.frequency === 'daily' || schedule.daysOfWeek.includes(dayOfWeekOf(epochDay));
}

function runsOfDay(schedule: Schedule, minutes: readonly number[], epochDay: number): number[] {
  if (!runsOn(schedule, epochDay)) return [];
  return minutes.map((m) => zonedTimeToUtc(epochDay, m, schedule.timeZone).getTime());
}

function sortedUnique(instants: readonly number[]): Date[] {
  return [...new Set(instants)].sort((a, b) => a - b).map((ms) => new Date(ms));
}

function assertDate(value: Date, name: string): number {
  const ms = value.getTime();
  // A programming error, not an expected outcome: callers pass clock readings, never user input.
  if (Number.isNaN(ms)) throw new RangeError(`${name} is not a valid Date`);
  return ms;
}

function isEmpty(schedule: Schedule): boolean {
  return schedule.times.length === 0 || (schedule.frequency === 'weekly' && schedule.daysOfWeek.length === 0);
}

/** The first `count` runs strictly after `afterUtc`, ascending. */
export function nextRunTimes(schedule: Schedule, afterUtc: Date, count: number): Date[] {
  const after = assertDate(afterUtc, 'afterUtc');
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('count must be a whole number >= 0');
  if (count === 0 || isEmpty(schedule)) return [];
  const minutes = minutesOfDay(schedule);
  const found: number[] = [];
  // Start a day early: the previous local day's runs can still be ahead of `after` near midnight.
  let day = localEpochDayOf(afterUtc, schedule.timeZone) - 1;
  let lastDay = Number.POSITIVE_INFINITY;
  while (day <= lastDay) {
    for (const run of runsOfDay(schedule, minutes, day)) if (run > after) found.push(run);
    if (lastDay === Number.POSITIVE_INFINITY && new Set(found).size >= count) lastDay = day + LOOKAHEAD_DAYS;
    day += 1;
  }
  return sortedUnique(found).slice(0, count);
}

/** Every run in [fromUtc, toUtc), ascending: what a timer that last fired at `fromUtc` has to start now. */
export function runTimesBetween(schedule: Schedule, fromUtc: Date, toUtc: Date): Date[] {
  const from = assertDate(fromUtc, 'fromUtc');
  const to = assertDate(toUtc, 'toUtc');
  if (to <= from || isEmpty(schedule)) return [];
  const minutes = minutesOfDay(schedule);
  const found: number[] = [];
  const lastDay = localEpochDayOf(toUtc, schedule.timeZone) + 1;
  for (let day = localEpochDayOf(fromUtc, schedule.timeZone) - 1; day <= lastDay; day += 1) {
    for (const run of runsOfDay(schedule, minutes, day)) if (run >= from && run < to) found.push(run);
  }
  return sortedUnique(found);
}
