// A timer trigger's schedule: an NCRONTAB expression (in UTC or the configured time zone) or a
// TimeSpan interval ("hh:mm:ss"), as the Functions timer trigger accepts. `%NAME%` expressions are
// resolved before parsing (see resolveAppSettings in host.ts).
import { parseTimeSpanMs } from '../app/timeSpan';
import { nextCronOccurrence, parseNcrontab, type CronExpression } from './ncrontab';
import { checkTimeZone, instantsForWallClock, isUtc, UTC, wallClockMs } from './timeZone';
import { TimerScheduleError } from './timerErrors';

export type TimerSchedule =
  | {
      readonly kind: 'cron';
      readonly expression: string;
      readonly cron: CronExpression;
      readonly timeZone: string;
    }
  | { readonly kind: 'interval'; readonly expression: string; readonly intervalMs: number };

/** How many wall-clock candidates to try before giving up (only DST edge cases need more than one). */
const MAX_ZONED_CANDIDATES = 1000;

export function parseTimerSchedule(expression: string, timeZone: string = UTC): TimerSchedule {
  const text = expression.trim();
  // The real host tries NCRONTAB first and falls back to TimeSpan; a cron expression has spaces.
  if (/\s/.test(text)) {
    const cron = parseNcrontab(text);
    if (nextCronOccurrence(cron, 0) === undefined) {
      throw new TimerScheduleError('TIMER.SCHEDULE_NEVER_FIRES', `Schedule "${text}" never occurs`);
    }
    return { kind: 'cron', expression: text, cron, timeZone: checkTimeZone(timeZone) };
  }
  let intervalMs: number;
  try {
    intervalMs = parseTimeSpanMs(text);
  } catch {
    throw new TimerScheduleError(
      'TIMER.SCHEDULE_INVALID',
      `Schedule "${expression}" is neither an NCRONTAB expression nor a TimeSpan (hh:mm:ss)`,
    );
  }
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new TimerScheduleError(
      'TIMER.SCHEDULE_INVALID',
      `Schedule "${expression}" must be a positive interval`,
    );
  }
  return { kind: 'interval', expression: text, intervalMs };
}

/** The next occurrence strictly after `afterMs` (epoch ms). */
export function nextScheduledTime(schedule: TimerSchedule, afterMs: number): number {
  if (schedule.kind === 'interval') return afterMs + schedule.intervalMs;
  if (isUtc(schedule.timeZone)) return mustExist(nextCronOccurrence(schedule.cron, afterMs), schedule);
  let wall = wallClockMs(afterMs, schedule.timeZone);
  for (let i = 0; i < MAX_ZONED_CANDIDATES; i++) {
    const candidate = mustExist(nextCronOccurrence(schedule.cron, wall), schedule);
    const instant = instantsForWallClock(candidate, schedule.timeZone).find((t) => t > afterMs);
    if (instant !== undefined) return instant;
    wall = candidate;
  }
  throw new TimerScheduleError(
    'TIMER.SCHEDULE_NEVER_FIRES',
    `Schedule "${schedule.expression}" never occurs`,
  );
}

function mustExist(t: number | undefined, schedule: TimerSchedule): number {
  if (t === undefined) {
    throw new TimerScheduleError(
      'TIMER.SCHEDULE_NEVER_FIRES',
      `Schedule "${schedule.expression}" never occurs`,
    );
  }
  return t;
}

/** Pure convenience: the next occurrence of a schedule expression strictly after `afterMs`. */
export function nextOccurrence(expression: string, afterMs: number, timeZone: string = UTC): number {
  return nextScheduledTime(parseTimerSchedule(expression, timeZone), afterMs);
}

/**
 * The shortest gap between the next few occurrences. The real host turns schedule monitoring off
 * for timers that fire more than once a minute.
 */
export function shortestIntervalMs(schedule: TimerSchedule, fromMs: number, samples = 5): number {
  if (schedule.kind === 'interval') return schedule.intervalMs;
  let prev = nextScheduledTime(schedule, fromMs);
  let shortest = Infinity;
  for (let i = 0; i < samples; i++) {
    const next = nextScheduledTime(schedule, prev);
    shortest = Math.min(shortest, next - prev);
    prev = next;
  }
  return shortest;
}
