// Wall-clock time in an IANA time zone, for timer schedules with WEBSITE_TIME_ZONE/TZ (the Linux
// Functions host reads IANA names such as "Europe/Berlin"; Windows names are not supported here).
// DST rules (the real host's AdjustForDST behaviour): a wall time that does not exist (spring
// forward) fires at the same offset from the gap's start (02:30 becomes 03:30); a wall time that
// happens twice (fall back) fires at the first instant that is still in the future.
import { TimerScheduleError } from './timerErrors';

export const UTC = 'UTC';
const HOUR_MS = 3_600_000;
/** DST transitions are far more than this apart, so offsets this far either side bracket a change. */
const OFFSET_PROBE_MS = 12 * HOUR_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isUtc(timeZone: string): boolean {
  return /^(utc|etc\/utc|gmt|etc\/gmt|z)$/i.test(timeZone);
}

/** Validates a time zone name; returns the canonical name. */
export function checkTimeZone(timeZone: string): string {
  if (isUtc(timeZone)) return UTC;
  try {
    return formatter(timeZone).resolvedOptions().timeZone;
  } catch {
    throw new TimerScheduleError(
      'TIMER.TIME_ZONE_INVALID',
      `Unknown time zone "${timeZone}". Use an IANA name such as "Europe/Berlin" (Windows names are not supported).`,
    );
  }
}

/** The wall-clock time at `instantMs` in the zone, expressed as if it were UTC milliseconds. */
export function wallClockMs(instantMs: number, timeZone: string): number {
  if (isUtc(timeZone)) return instantMs;
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const ms = ((instantMs % 1000) + 1000) % 1000;
  return (
    Date.UTC(
      parts.year ?? 1970,
      (parts.month ?? 1) - 1,
      parts.day ?? 1,
      parts.hour ?? 0,
      parts.minute ?? 0,
      parts.second ?? 0,
    ) + ms
  );
}

function offsetAt(instantMs: number, timeZone: string): number {
  return wallClockMs(instantMs, timeZone) - instantMs;
}

/**
 * The instants whose wall-clock time in the zone is `wallMs`, ascending: one normally, two in a
 * fall-back hour, and for a spring-forward gap the instant shifted by the gap (see file comment).
 */
export function instantsForWallClock(wallMs: number, timeZone: string): number[] {
  if (isUtc(timeZone)) return [wallMs];
  const offsets = new Set([
    offsetAt(wallMs - OFFSET_PROBE_MS, timeZone),
    offsetAt(wallMs, timeZone),
    offsetAt(wallMs + OFFSET_PROBE_MS, timeZone),
  ]);
  const found = [...offsets]
    .map((o) => wallMs - o)
    .filter((i) => wallClockMs(i, timeZone) === wallMs)
    .sort((a, b) => a - b);
  if (found.length > 0) return [...new Set(found)];
  return [wallMs - offsetAt(wallMs - OFFSET_PROBE_MS, timeZone)];
}
