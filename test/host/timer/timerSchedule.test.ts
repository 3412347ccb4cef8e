import {
  nextOccurrence,
  parseTimerSchedule,
  shortestIntervalMs,
} from '../../../host/src/timer/timerSchedule';
import { checkTimeZone, instantsForWallClock } from '../../../host/src/timer/timeZone';
import { thrown } from '../thrown';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

describe('TimeSpan schedules', () => {
  test('hh:mm:ss is an interval from "after"', () => {
    expect(iso(nextOccurrence('00:05:00', at('2024-01-01T00:00:01.250Z')))).toBe('2024-01-01T00:05:01.250Z');
    expect(parseTimerSchedule('1.00:00:00')).toEqual({
      kind: 'interval',
      expression: '1.00:00:00',
      intervalMs: 86_400_000,
    });
  });

  test('zero, negative and garbage are rejected', () => {
    for (const bad of ['00:00:00', '-1', 'soon', '25:00']) {
      expect(thrown(() => parseTimerSchedule(bad))).toMatchObject({ code: 'TIMER.SCHEDULE_INVALID' });
    }
  });
});

describe('time zones (WEBSITE_TIME_ZONE / TZ, IANA names)', () => {
  test('a daily 09:00 in Berlin is 07:00Z in summer and 08:00Z in winter', () => {
    expect(iso(nextOccurrence('0 0 9 * * *', at('2024-07-01T00:00:00Z'), 'Europe/Berlin'))).toBe(
      '2024-07-01T07:00:00.000Z',
    );
    expect(iso(nextOccurrence('0 0 9 * * *', at('2024-01-01T00:00:00Z'), 'Europe/Berlin'))).toBe(
      '2024-01-01T08:00:00.000Z',
    );
  });

  test('spring forward: 02:30 does not exist on 2024-03-10 in New York and fires at 03:30 EDT', () => {
    expect(iso(nextOccurrence('0 30 2 * * *', at('2024-03-09T08:00:00Z'), 'America/New_York'))).toBe(
      '2024-03-10T07:30:00.000Z',
    );
    // and the day after is back to normal (02:30 EDT = 06:30Z)
    expect(iso(nextOccurrence('0 30 2 * * *', at('2024-03-10T07:30:00Z'), 'America/New_York'))).toBe(
      '2024-03-11T06:30:00.000Z',
    );
  });

  test('fall back: 01:30 happens twice on 2024-11-03 in New York and fires once', () => {
    const first = nextOccurrence('0 30 1 * * *', at('2024-11-03T04:00:00Z'), 'America/New_York');
    expect(iso(first)).toBe('2024-11-03T05:30:00.000Z');
    expect(iso(nextOccurrence('0 30 1 * * *', first, 'America/New_York'))).toBe('2024-11-04T06:30:00.000Z');
  });

  test('wall-clock conversion finds both instants of a repeated time', () => {
    expect(instantsForWallClock(at('2024-11-03T01:30:00Z'), 'America/New_York').map(iso)).toEqual([
      '2024-11-03T05:30:00.000Z',
      '2024-11-03T06:30:00.000Z',
    ]);
  });

  test('UTC aliases and unknown names', () => {
    expect(checkTimeZone('Etc/UTC')).toBe('UTC');
    expect(thrown(() => checkTimeZone('Eastern Standard Time'))).toMatchObject({
      code: 'TIMER.TIME_ZONE_INVALID',
    });
  });
});

test('shortestIntervalMs drives the useMonitor default', () => {
  expect(shortestIntervalMs(parseTimerSchedule('*/2 * * * * *'), 0)).toBe(2000);
  expect(shortestIntervalMs(parseTimerSchedule('0 0 0 * * *'), 0)).toBe(86_400_000);
  expect(shortestIntervalMs(parseTimerSchedule('00:00:30'), 0)).toBe(30_000);
});
