import {
  isIanaTimeZone,
  localEpochDayOf,
  startOfLocalDay,
  utcOffsetMs,
  wallClockOf,
  zonedTimeToUtc,
} from '../../shared/policy/zonedTime';

const HOUR = 3_600_000;
const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
const at = (iso: string, hhmm: string, zone: string): string => {
  const [h, m] = hhmm.split(':').map(Number);
  return zonedTimeToUtc(day(iso), (h ?? 0) * 60 + (m ?? 0), zone).toISOString();
};

describe('isIanaTimeZone', () => {
  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'America/Argentina/Buenos_Aires', 'Etc/GMT-14'])(
    'accepts %s',
    (zone) => expect(isIanaTimeZone(zone)).toBe(true),
  );
  it.each(['', 'utc', 'EST', 'CET', '+01:00', 'UTC+1', 'Europe/Atlantis', 'europe/berlin', 'Europe/'])(
    'rejects %p',
    (zone) => expect(isIanaTimeZone(zone)).toBe(false),
  );
});

describe('wall clock', () => {
  it('reads the local date and minute at an instant', () => {
    expect(wallClockOf(new Date('2024-04-06T22:30:00Z'), 'Europe/Berlin')).toEqual({
      epochDay: day('2024-04-07'),
      minuteOfDay: 30,
    });
    expect(localEpochDayOf(new Date('2024-11-11T04:30:00Z'), 'America/New_York')).toBe(day('2024-11-10'));
    expect(localEpochDayOf(new Date('2024-12-31T15:00:00Z'), 'Asia/Tokyo')).toBe(day('2025-01-01'));
  });

  it('reports the offset in force, including half-hour zones', () => {
    expect(utcOffsetMs(Date.parse('2024-01-15T12:00:00Z'), 'Europe/Berlin')).toBe(HOUR);
    expect(utcOffsetMs(Date.parse('2024-07-15T12:00:00Z'), 'Europe/Berlin')).toBe(2 * HOUR);
    expect(utcOffsetMs(Date.parse('2024-07-15T12:00:00Z'), 'Asia/Kolkata')).toBe(5.5 * HOUR);
  });
});

describe('zonedTimeToUtc', () => {
  it('maps ordinary wall times with the offset in force', () => {
    expect(at('2024-01-15', '22:30', 'Europe/Berlin')).toBe('2024-01-15T21:30:00.000Z');
    expect(at('2024-07-15', '22:30', 'Europe/Berlin')).toBe('2024-07-15T20:30:00.000Z');
    expect(at('2024-07-15', '00:00', 'UTC')).toBe('2024-07-15T00:00:00.000Z');
  });

  it('moves a time in the spring-forward gap forward by the gap (02:30 -> 03:30)', () => {
    expect(at('2024-03-31', '02:30', 'Europe/Berlin')).toBe('2024-03-31T01:30:00.000Z');
    expect(at('2024-03-31', '02:00', 'Europe/Berlin')).toBe('2024-03-31T01:00:00.000Z');
    expect(at('2024-03-10', '02:30', 'America/New_York')).toBe('2024-03-10T07:30:00.000Z');
    // Lord Howe moves 30 minutes, from 02:00 (+10:30) to 02:30 (+11:00), on 2024-10-06.
    expect(at('2024-10-06', '02:00', 'Australia/Lord_Howe')).toBe('2024-10-05T15:30:00.000Z');
    expect(at('2024-10-06', '02:30', 'Australia/Lord_Howe')).toBe('2024-10-05T15:30:00.000Z');
  });

  it('takes the first of the two times in the fall-back overlap', () => {
    expect(at('2024-10-27', '02:30', 'Europe/Berlin')).toBe('2024-10-27T00:30:00.000Z');
    expect(at('2024-11-03', '01:30', 'America/New_York')).toBe('2024-11-03T05:30:00.000Z');
    // Southern hemisphere: Sydney falls back from 03:00 AEDT to 02:00 AEST on 2024-04-07.
    expect(at('2024-04-07', '02:30', 'Australia/Sydney')).toBe('2024-04-06T15:30:00.000Z');
  });

  it('finds the first instant of a day, also when midnight does not exist', () => {
    expect(startOfLocalDay(day('2024-04-08'), 'Europe/Berlin').toISOString()).toBe(
      '2024-04-07T22:00:00.000Z',
    );
    // America/Havana springs forward at midnight: 2024-03-10 starts at 01:00 CDT.
    expect(startOfLocalDay(day('2024-03-10'), 'America/Havana').toISOString()).toBe(
      '2024-03-10T05:00:00.000Z',
    );
    // Samoa skipped 2011-12-30 entirely; the "start" of that day is the start of Dec 31.
    expect(startOfLocalDay(day('2011-12-30'), 'Pacific/Apia').toISOString()).toBe('2011-12-30T10:00:00.000Z');
  });
});
