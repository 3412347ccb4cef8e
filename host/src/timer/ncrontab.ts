// NCRONTAB expressions as the Functions timer trigger reads them (NCrontab library):
// `{second} {minute} {hour} {day} {month} {day-of-week}` (a 5-field form without seconds is also
// accepted, as the real host does). Each field takes `*`, values, lists `a,b`, ranges `a-b`, steps
// `*/n`, `a-b/n`, `a/n`, and month or day names (any prefix of the English name, as NCrontab
// matches them). Day-of-month and day-of-week must BOTH match (NCrontab semantics, unlike Vixie cron).
import { TimerScheduleError } from './timerErrors';

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTH_NAMES = [
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
];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY: FieldSpec = { name: 'day', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTH_NAMES };
const DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 0, max: 6, names: DAY_NAMES };

/** The search horizon: the Gregorian calendar repeats every 400 years, so nothing is further away. */
const SEARCH_HORIZON_YEARS = 401;

export interface CronExpression {
  readonly text: string;
  /** `allowed[v]` is true when the value v matches. */
  readonly seconds: readonly boolean[];
  readonly minutes: readonly boolean[];
  readonly hours: readonly boolean[];
  readonly days: readonly boolean[];
  readonly months: readonly boolean[];
  readonly daysOfWeek: readonly boolean[];
}

function invalid(text: string, why: string): TimerScheduleError {
  return new TimerScheduleError('TIMER.SCHEDULE_INVALID', `Invalid NCRONTAB expression "${text}": ${why}`);
}

function parseValue(raw: string, spec: FieldSpec, text: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < spec.min || n > spec.max) {
      throw invalid(text, `${spec.name} ${n} is outside ${spec.min}-${spec.max}`);
    }
    return n;
  }
  if (spec.names && /^[a-z]+$/i.test(raw)) {
    const lower = raw.toLowerCase();
    const index = spec.names.findIndex((n) => n.toLowerCase().startsWith(lower));
    if (index >= 0) return index + spec.min;
  }
  throw invalid(text, `"${raw}" is not a valid ${spec.name}`);
}

function parseField(field: string, spec: FieldSpec, text: string): boolean[] {
  const allowed = new Array<boolean>(spec.max + 1).fill(false);
  for (const item of field.split(',')) {
    if (item.length === 0) throw invalid(text, `empty list item in the ${spec.name} field`);
    const [rangePart = '', stepPart, extra] = item.split('/');
    if (extra !== undefined) throw invalid(text, `"${item}" has more than one "/"`);
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) === 0) {
        throw invalid(text, `"${item}" needs a positive step`);
      }
      step = Number(stepPart);
    }
    let from: number;
    let to: number;
    if (rangePart === '*') {
      from = spec.min;
      to = spec.max;
    } else if (rangePart.includes('-')) {
      const [a = '', b = '', more] = rangePart.split('-');
      if (more !== undefined) throw invalid(text, `"${item}" is not a range`);
      from = parseValue(a, spec, text);
      to = parseValue(b, spec, text);
      if (from > to) throw invalid(text, `range "${rangePart}" goes backwards`);
    } else {
      from = parseValue(rangePart, spec, text);
      // NCrontab: "a/n" means every n starting at a, up to the field's maximum.
      to = stepPart !== undefined ? spec.max : from;
    }
    for (let v = from; v <= to; v += step) allowed[v] = true;
  }
  return allowed;
}

export function parseNcrontab(text: string): CronExpression {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 6 && fields.length !== 5) {
    throw invalid(
      text,
      `expected 6 fields ({second} {minute} {hour} {day} {month} {day-of-week}), got ${fields.length}`,
    );
  }
  const withSeconds = fields.length === 6 ? fields : ['0', ...fields];
  const [s = '', mi = '', h = '', d = '', mo = '', dw = ''] = withSeconds;
  return {
    text,
    seconds: parseField(s, SECOND, text),
    minutes: parseField(mi, MINUTE, text),
    hours: parseField(h, HOUR, text),
    days: parseField(d, DAY, text),
    months: parseField(mo, MONTH, text),
    daysOfWeek: parseField(dw, DAY_OF_WEEK, text),
  };
}

/**
 * The first whole second strictly after `afterMs` that matches, reading the fields as UTC wall-clock
 * time; undefined if none exists (e.g. "0 0 0 30 2 *").
 */
export function nextCronOccurrence(cron: CronExpression, afterMs: number): number | undefined {
  let t = Math.floor(afterMs / 1000) * 1000 + 1000;
  const lastYear = new Date(t).getUTCFullYear() + SEARCH_HORIZON_YEARS;
  for (;;) {
    const d = new Date(t);
    const year = d.getUTCFullYear();
    if (year > lastYear) return undefined;
    const month = d.getUTCMonth(); // 0-based
    const day = d.getUTCDate();
    const hour = d.getUTCHours();
    const minute = d.getUTCMinutes();
    if (!cron.months[month + 1]) {
      t = Date.UTC(year, month + 1, 1);
    } else if (!cron.days[day] || !cron.daysOfWeek[d.getUTCDay()]) {
      t = Date.UTC(year, month, day + 1);
    } else if (!cron.hours[hour]) {
      t = Date.UTC(year, month, day, hour + 1);
    } else if (!cron.minutes[minute]) {
      t = Date.UTC(year, month, day, hour, minute + 1);
    } else if (!cron.seconds[d.getUTCSeconds()]) {
      t += 1000;
    } else {
      return t;
    }
  }
}
