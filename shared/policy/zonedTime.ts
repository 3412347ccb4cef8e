// Mapping between UTC instants and wall-clock time in a named IANA zone, with Node's built-in ICU
// (Intl.DateTimeFormat). Only two questions are asked of ICU: "what is the wall-clock time at this instant?"
// and, derived from it, "what is the UTC offset at this instant?". Everything else is arithmetic.
import { MS_PER_DAY } from './calendar';

const MS_PER_MINUTE = 60_000;

// Formatters are costly to build and immutable, so one per zone is kept for the life of the process.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      // h23, not hour12: false, which prints midnight as "24" in some ICU versions.
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

// "Area/Location" (Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5) or UTC. This rejects what ICU
// would also accept but a policy should not hold: abbreviations (EST), offsets, and lower-case spellings.
const IANA_NAME = /^(?:UTC|[A-Z][A-Za-z]*(?:\/[A-Za-z0-9_+-]+)+)$/;

/** True if `name` is an IANA zone name that this runtime's ICU knows. */
export function isIanaTimeZone(name: string): boolean {
  if (!IANA_NAME.test(name)) return false;
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

export interface WallClock {
  /** The local calendar date, in days since 1970-01-01. */
  readonly epochDay: number;
  /** Minutes since local midnight, 0 to 1439. */
  readonly minuteOfDay: number;
}

function wallClockMs(instantMs: number, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(instantMs));
  const field = (type: Intl.DateTimeFormatPartTypes): number => {
    const part = parts.find((p) => p.type === type);
    return part === undefined ? 0 : Number(part.value);
  };
  return Date.UTC(
    field('year'),
    field('month') - 1,
    field('day'),
    field('hour'),
    field('minute'),
    field('second'),
  );
}

/** UTC offset in milliseconds at an instant (local = UTC + offset). Whole seconds: ICU prints no millis. */
export function utcOffsetMs(instantMs: number, timeZone: string): number {
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  return wallClockMs(wholeSecond, timeZone) - wholeSecond;
}

/** The wall-clock date and minute at an instant. */
export function wallClockOf(instant: Date, timeZone: string): WallClock {
  const local = wallClockMs(instant.getTime(), timeZone);
  const epochDay = Math.floor(local / MS_PER_DAY);
  return { epochDay, minuteOfDay: Math.floor((local - epochDay * MS_PER_DAY) / MS_PER_MINUTE) };
}

/** The local calendar date (epoch day) an instant falls on. */
export function localEpochDayOf(instant: Date, timeZone: string): number {
  return wallClockOf(instant, timeZone).epochDay;
}

/**
 * The UTC instant of a wall-clock time, resolved as RFC 5545 (iCalendar) §3.3.5 prescribes, which is also
 * Temporal's 'compatible' disambiguation:
 * - in a gap (spring forward) the time does not exist; it is read with the offset before the gap, which
 *   moves it forward by the gap's length (02:30 on the day Berlin jumps from 02:00 to 03:00 is 03:30 CEST);
 * - in an overlap (fall back) the time exists twice, and the first (earlier) occurrence is returned.
 */
export function zonedTimeToUtc(epochDay: number, minuteOfDay: number, timeZone: string): Date {
  const asIfUtc = epochDay * MS_PER_DAY + minuteOfDay * MS_PER_MINUTE;
  // Real zones change offset at most once within a day of any instant; the offsets a day either side (and
  // at the instant itself) are the only candidates.
  const before = utcOffsetMs(asIfUtc - MS_PER_DAY, timeZone);
  const after = utcOffsetMs(asIfUtc + MS_PER_DAY, timeZone);
  // Fast path, nearly always taken: no change within a day either side.
  if (before === after && utcOffsetMs(asIfUtc - before, timeZone) === before)
    return new Date(asIfUtc - before);
  const offsets = new Set([before, utcOffsetMs(asIfUtc, timeZone), after]);
  let earliest: number | undefined;
  for (const offset of offsets) {
    const candidate = asIfUtc - offset;
    if (utcOffsetMs(candidate, timeZone) === offset && (earliest === undefined || candidate < earliest)) {
      earliest = candidate;
    }
  }
  // No candidate: the wall time is in a gap. Reading it with the offset in force before the gap moves it
  // forward by the gap's length.
  return new Date(earliest ?? asIfUtc - before);
}

/** The first instant of a local calendar date (midnight, or the end of a gap that swallows midnight). */
export function startOfLocalDay(epochDay: number, timeZone: string): Date {
  return zonedTimeToUtc(epochDay, 0, timeZone);
}
