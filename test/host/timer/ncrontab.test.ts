import { nextCronOccurrence, parseNcrontab } from '../../../host/src/timer/ncrontab';
import { nextOccurrence } from '../../../host/src/timer/timerSchedule';
import { thrown } from '../thrown';

const at = (iso: string): number => Date.parse(iso);
const next = (expr: string, afterIso: string): string =>
  new Date(nextOccurrence(expr, at(afterIso))).toISOString();

describe('nextOccurrence (NCRONTAB, UTC)', () => {
  test.each([
    // every 2 seconds; strictly after, and sub-second "after" rounds up
    ['*/2 * * * * *', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:02.000Z'],
    ['*/2 * * * * *', '2024-01-01T00:00:01.500Z', '2024-01-01T00:00:02.000Z'],
    ['*/2 * * * * *', '2024-01-01T00:00:02.000Z', '2024-01-01T00:00:04.000Z'],
    ['*/2 * * * * *', '2024-01-01T00:00:59.000Z', '2024-01-01T00:01:00.000Z'],
    // steps from a start value, lists, ranges
    ['5/15 * * * * *', '2024-01-01T00:00:36.000Z', '2024-01-01T00:00:50.000Z'],
    ['5/15 * * * * *', '2024-01-01T00:00:50.000Z', '2024-01-01T00:01:05.000Z'],
    ['0 */5 * * * *', '2024-01-01T00:03:00.000Z', '2024-01-01T00:05:00.000Z'],
    ['0 0 9-17/4 * * *', '2024-01-01T13:00:00.000Z', '2024-01-01T17:00:00.000Z'],
    ['0 0 9-17/4 * * *', '2024-01-01T17:00:00.000Z', '2024-01-02T09:00:00.000Z'],
    ['0 15,45 * * * *', '2024-01-01T10:20:00.000Z', '2024-01-01T10:45:00.000Z'],
    // daily, across month and year ends
    ['0 0 0 * * *', '2024-01-01T12:00:00.000Z', '2024-01-02T00:00:00.000Z'],
    ['0 0 0 * * *', '2024-01-31T23:59:59.999Z', '2024-02-01T00:00:00.000Z'],
    ['0 0 0 1 1 *', '2024-12-31T23:59:59.999Z', '2025-01-01T00:00:00.000Z'],
    // day of week: weekdays at 09:30; Friday 10:00 → Monday
    ['0 30 9 * * 1-5', '2024-01-05T10:00:00.000Z', '2024-01-08T09:30:00.000Z'],
    ['0 30 9 * * Mon-Fri', '2024-01-05T10:00:00.000Z', '2024-01-08T09:30:00.000Z'],
    ['0 0 12 * * Sun', '2024-01-01T00:00:00.000Z', '2024-01-07T12:00:00.000Z'],
    ['0 0 12 * * 0', '2024-01-07T12:00:00.000Z', '2024-01-14T12:00:00.000Z'],
    // month names and full names (NCrontab matches any prefix)
    ['0 0 0 1 Jul *', '2024-01-15T00:00:00.000Z', '2024-07-01T00:00:00.000Z'],
    ['0 0 0 1 july *', '2024-01-15T00:00:00.000Z', '2024-07-01T00:00:00.000Z'],
    ['0 0 0 1 Jan,Jul *', '2024-07-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
    // day 31 skips short months; Feb 29 waits for a leap year
    ['0 0 0 31 * *', '2024-04-01T00:00:00.000Z', '2024-05-31T00:00:00.000Z'],
    ['0 0 0 29 2 *', '2024-03-01T00:00:00.000Z', '2028-02-29T00:00:00.000Z'],
    ['0 0 0 29 2 *', '2024-02-28T12:00:00.000Z', '2024-02-29T00:00:00.000Z'],
    // 2100 is not a leap year
    ['0 0 0 29 2 *', '2096-03-01T00:00:00.000Z', '2104-02-29T00:00:00.000Z'],
    // day-of-month AND day-of-week (NCrontab), e.g. Friday the 13th
    ['0 0 0 13 * Fri', '2024-01-01T00:00:00.000Z', '2024-09-13T00:00:00.000Z'],
    // five fields: no seconds (second 0)
    ['*/15 * * * *', '2024-01-01T00:00:01.000Z', '2024-01-01T00:15:00.000Z'],
    // extra spaces are fine
    ['  0   0  0 * * *  ', '2024-01-01T12:00:00.000Z', '2024-01-02T00:00:00.000Z'],
  ])('%s after %s → %s', (expr, after, expected) => {
    expect(next(expr, after)).toBe(expected);
  });

  test('Feb 29 that is a Monday (the answer is decades away)', () => {
    let year = 2025;
    while (!(
      new Date(Date.UTC(year, 1, 29)).getUTCMonth() === 1 && new Date(Date.UTC(year, 1, 29)).getUTCDay() === 1
    )) {
      year++;
    }
    expect(next('0 0 0 29 2 Mon', '2024-03-01T00:00:00.000Z')).toBe(
      new Date(Date.UTC(year, 1, 29)).toISOString(),
    );
  });

  test.each([
    ['* * * *', /expected 6 fields/],
    ['* * * * * * *', /expected 6 fields/],
    ['60 * * * * *', /second 60 is outside 0-59/],
    ['* * 24 * * *', /hour 24/],
    ['* * * 0 * *', /day 0/],
    ['* * * * 13 *', /month 13/],
    ['* * * * * 7', /day-of-week 7/],
    ['*/0 * * * * *', /positive step/],
    ['5-1 * * * * *', /goes backwards/],
    ['1,,2 * * * * *', /empty list item/],
    ['* * * * Foo *', /"Foo" is not a valid month/],
    ['1/2/3 * * * * *', /more than one/],
  ])('%p is rejected', (expr, why) => {
    expect(thrown(() => parseNcrontab(expr))).toMatchObject({ code: 'TIMER.SCHEDULE_INVALID' });
    expect(() => parseNcrontab(expr)).toThrow(why);
  });

  test('a schedule that never occurs is rejected', () => {
    expect(thrown(() => nextOccurrence('0 0 0 30 2 *', 0))).toMatchObject({
      code: 'TIMER.SCHEDULE_NEVER_FIRES',
    });
    expect(nextCronOccurrence(parseNcrontab('0 0 0 31 4 *'), 0)).toBeUndefined();
  });
});

/** Minute-resolution brute force: scans every minute, so it shares no logic with the real search. */
function bruteForce(expr: string, afterMs: number, horizonMinutes: number): number | undefined {
  const [, mi, h, d, mo, dw] = expr.split(' ');
  const inField = (field: string | undefined, v: number, min: number): boolean =>
    (field ?? '*').split(',').some((item) => {
      const [range = '*', stepText] = item.split('/');
      const step = stepText ? Number(stepText) : 1;
      if (range === '*') return (v - min) % step === 0;
      const [a, b] = range.split('-').map(Number);
      const lo = a ?? min;
      const hi = b ?? (stepText ? Infinity : lo);
      return v >= lo && v <= hi && (v - lo) % step === 0;
    });
  let t = Math.floor(afterMs / 60_000) * 60_000 + 60_000;
  for (let i = 0; i < horizonMinutes; i++, t += 60_000) {
    const x = new Date(t);
    if (
      inField(mi, x.getUTCMinutes(), 0) &&
      inField(h, x.getUTCHours(), 0) &&
      inField(d, x.getUTCDate(), 1) &&
      inField(mo, x.getUTCMonth() + 1, 1) &&
      inField(dw, x.getUTCDay(), 0)
    ) {
      return t;
    }
  }
  return undefined;
}

test('random schedules agree with a brute-force scan', () => {
  const seed = 20240229;
  // mulberry32: small, seedable, and good in its low bits.
  let state = seed;
  const rand = (n: number): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const pick = (max: number, min: number): string => {
    switch (rand(4)) {
      case 0:
        return '*';
      case 1:
        return `*/${1 + rand(Math.min(12, max))}`;
      case 2: {
        const a = min + rand(max - min + 1);
        return `${a}-${Math.min(max, a + rand(6))}`;
      }
      default:
        return `${min + rand(max - min + 1)},${min + rand(max - min + 1)}`;
    }
  };
  for (let i = 0; i < 40; i++) {
    const expr = `0 ${pick(59, 0)} ${pick(23, 0)} ${pick(28, 1)} ${rand(2) ? '*' : pick(12, 1)} ${rand(3) ? '*' : pick(6, 0)}`;
    const after = Date.UTC(2024, rand(12), 1 + rand(28), rand(24), rand(60), rand(60));
    const horizon = 60 * 24 * 800;
    const expected = bruteForce(expr, after, horizon);
    const actual = nextCronOccurrence(parseNcrontab(expr), after);
    const msg = `seed ${seed}, case ${i}: "${expr}" after ${new Date(after).toISOString()}`;
    if (expected === undefined)
      expect({ msg, beyondHorizon: actual === undefined || actual > after + horizon * 60_000 }).toEqual({
        msg,
        beyondHorizon: true,
      });
    else
      expect({ msg, at: actual === undefined ? 'none' : new Date(actual).toISOString() }).toEqual({
        msg,
        at: new Date(expected).toISOString(),
      });
  }
});
