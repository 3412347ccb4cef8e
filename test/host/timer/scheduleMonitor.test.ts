import {
  checkPastDue,
  NEVER,
  scheduleStatusFromJson,
  scheduleStatusToJson,
} from '../../../host/src/timer/scheduleMonitor';
import { parseTimerSchedule } from '../../../host/src/timer/timerSchedule';

const at = (iso: string): number => Date.parse(iso);
const daily = parseTimerSchedule('0 0 0 * * *');

describe('checkPastDue (the real host ScheduleMonitor.CheckPastDueAsync)', () => {
  test('first start records the next occurrence and is not past due', () => {
    const now = at('2024-01-01T10:00:00Z');
    expect(checkPastDue(daily, undefined, now)).toEqual({
      status: { last: undefined, next: at('2024-01-02T00:00:00Z'), lastUpdated: now },
      changed: true,
      pastDueMs: 0,
    });
  });

  test('a restart before the next occurrence changes nothing', () => {
    const stored = {
      last: at('2024-01-01T00:00:00Z'),
      next: at('2024-01-02T00:00:00Z'),
      lastUpdated: at('2024-01-01T00:00:01Z'),
    };
    expect(checkPastDue(daily, stored, at('2024-01-01T12:00:00Z'))).toEqual({
      status: stored,
      changed: false,
      pastDueMs: 0,
    });
  });

  test('a restart after a missed occurrence is past due by the time since it', () => {
    const stored = {
      last: undefined,
      next: at('2024-01-02T00:00:00Z'),
      lastUpdated: at('2024-01-01T10:00:00Z'),
    };
    const r = checkPastDue(daily, stored, at('2024-01-03T06:00:00Z'));
    expect(r.changed).toBe(false);
    expect(r.pastDueMs).toBe(30 * 3600_000);
  });

  test('a changed schedule recomputes Next from Last', () => {
    const stored = {
      last: at('2024-01-01T00:00:00Z'),
      next: at('2024-01-02T00:00:00Z'),
      lastUpdated: at('2024-01-01T00:00:00Z'),
    };
    const hourly = parseTimerSchedule('0 0 * * * *');
    const now = at('2024-01-01T00:30:00Z');
    expect(checkPastDue(hourly, stored, now)).toEqual({
      status: { ...stored, next: at('2024-01-01T01:00:00Z'), lastUpdated: now },
      changed: true,
      pastDueMs: 0,
    });
  });
});

describe('status JSON', () => {
  test('round trip, with .NET MinValue for "never"', () => {
    const status = {
      last: undefined,
      next: at('2024-01-02T00:00:00Z'),
      lastUpdated: at('2024-01-01T10:00:00Z'),
    };
    const json = scheduleStatusToJson(status);
    expect(json).toEqual({
      Last: NEVER,
      Next: '2024-01-02T00:00:00.000Z',
      LastUpdated: '2024-01-01T10:00:00.000Z',
    });
    expect(scheduleStatusFromJson(JSON.stringify(json))).toEqual(status);
  });

  test('reads the real host format (offsets, no Last)', () => {
    expect(
      scheduleStatusFromJson(
        '{"Last":"2024-01-01T00:00:00+01:00","Next":"2024-01-02T00:00:00+01:00","LastUpdated":"2024-01-01T00:00:05+01:00"}',
      ),
    ).toEqual({
      last: at('2023-12-31T23:00:00Z'),
      next: at('2024-01-01T23:00:00Z'),
      lastUpdated: at('2023-12-31T23:00:05Z'),
    });
    expect(scheduleStatusFromJson('not json')).toBeUndefined();
    expect(scheduleStatusFromJson('{"Last":"x"}')).toBeUndefined();
  });
});
