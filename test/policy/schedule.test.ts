import type { Schedule } from '../../shared/policy/policy';
import { nextRunTimes, runTimesBetween } from '../../shared/policy/schedule';
import { Gen, randomSchedule, seeds, withSeed } from './randomPolicies';

const iso = (dates: readonly Date[]): string[] => dates.map((d) => d.toISOString());
const daily = (timeZone: string, ...times: string[]): Schedule => ({ frequency: 'daily', timeZone, times });

describe('nextRunTimes', () => {
  it('runs at the local time in zones east and west of UTC', () => {
    const after = new Date('2024-06-01T00:00:00Z');
    expect(iso(nextRunTimes(daily('UTC', '22:30'), after, 2))).toEqual([
      '2024-06-01T22:30:00.000Z',
      '2024-06-02T22:30:00.000Z',
    ]);
    expect(iso(nextRunTimes(daily('Asia/Tokyo', '02:00'), after, 2))).toEqual([
      '2024-06-01T17:00:00.000Z',
      '2024-06-02T17:00:00.000Z',
    ]);
    expect(iso(nextRunTimes(daily('America/Los_Angeles', '22:30'), after, 1))).toEqual([
      '2024-06-01T05:30:00.000Z',
    ]);
    expect(iso(nextRunTimes(daily('Asia/Kolkata', '00:30'), after, 1))).toEqual(['2024-06-01T19:00:00.000Z']);
  });

  it('returns runs strictly after the given instant', () => {
    const s = daily('UTC', '22:30');
    expect(iso(nextRunTimes(s, new Date('2024-06-01T22:30:00Z'), 1))).toEqual(['2024-06-02T22:30:00.000Z']);
    expect(iso(nextRunTimes(s, new Date('2024-06-01T22:29:59.999Z'), 1))).toEqual([
      '2024-06-01T22:30:00.000Z',
    ]);
  });

  it('interleaves several times a day in time order, whatever order they are listed in', () => {
    const s = daily('Europe/Berlin', '20:00', '08:00', '14:00');
    expect(iso(nextRunTimes(s, new Date('2024-01-10T10:00:00Z'), 4))).toEqual([
      '2024-01-10T13:00:00.000Z',
      '2024-01-10T19:00:00.000Z',
      '2024-01-11T07:00:00.000Z',
      '2024-01-11T13:00:00.000Z',
    ]);
  });

  describe('Europe/Berlin DST', () => {
    it('spring forward (2024-03-31, 02:00 CET -> 03:00 CEST): 02:30 runs once, at 03:30 CEST', () => {
      const runs = nextRunTimes(daily('Europe/Berlin', '02:30'), new Date('2024-03-29T12:00:00Z'), 4);
      expect(iso(runs)).toEqual([
        '2024-03-30T01:30:00.000Z', // 02:30 CET
        '2024-03-31T01:30:00.000Z', // 03:30 CEST: 02:30 does not exist
        '2024-04-01T00:30:00.000Z', // 02:30 CEST
        '2024-04-02T00:30:00.000Z',
      ]);
    });

    it('spring forward: 02:30 and 03:30 fall on the same instant and run once', () => {
      const runs = nextRunTimes(
        daily('Europe/Berlin', '02:30', '03:30'),
        new Date('2024-03-30T12:00:00Z'),
        3,
      );
      expect(iso(runs)).toEqual([
        '2024-03-31T01:30:00.000Z',
        '2024-04-01T00:30:00.000Z',
        '2024-04-01T01:30:00.000Z',
      ]);
    });

    it('fall back (2024-10-27, 03:00 CEST -> 02:00 CET): 02:30 runs once, at its first occurrence', () => {
      const runs = nextRunTimes(daily('Europe/Berlin', '02:30'), new Date('2024-10-25T12:00:00Z'), 3);
      expect(iso(runs)).toEqual([
        '2024-10-26T00:30:00.000Z', // 02:30 CEST
        '2024-10-27T00:30:00.000Z', // 02:30 CEST, the first of the two 02:30s
        '2024-10-28T01:30:00.000Z', // 02:30 CET
      ]);
    });

    it('a 22:30 backup stays at 22:30 local across both changes', () => {
      const s = daily('Europe/Berlin', '22:30');
      expect(
        iso(runTimesBetween(s, new Date('2024-03-30T00:00:00Z'), new Date('2024-04-01T00:00:00Z'))),
      ).toEqual(['2024-03-30T21:30:00.000Z', '2024-03-31T20:30:00.000Z']);
      expect(
        iso(runTimesBetween(s, new Date('2024-10-26T00:00:00Z'), new Date('2024-10-28T00:00:00Z'))),
      ).toEqual(['2024-10-26T20:30:00.000Z', '2024-10-27T21:30:00.000Z']);
    });
  });

  describe('America/New_York DST', () => {
    it('spring forward (2024-03-10, 02:00 EST -> 03:00 EDT): 02:30 runs at 03:30 EDT', () => {
      const runs = nextRunTimes(daily('America/New_York', '02:30'), new Date('2024-03-09T00:00:00Z'), 3);
      expect(iso(runs)).toEqual([
        '2024-03-09T07:30:00.000Z',
        '2024-03-10T07:30:00.000Z',
        '2024-03-11T06:30:00.000Z',
      ]);
    });

    it('fall back (2024-11-03, 02:00 EDT -> 01:00 EST): 01:30 runs once, in EDT', () => {
      const runs = nextRunTimes(daily('America/New_York', '01:30'), new Date('2024-11-02T12:00:00Z'), 2);
      expect(iso(runs)).toEqual(['2024-11-03T05:30:00.000Z', '2024-11-04T06:30:00.000Z']);
    });

    it('fall back: times outside the overlap are unaffected and the day has one run per time', () => {
      const s = daily('America/New_York', '00:30', '01:30', '02:30');
      const day = runTimesBetween(s, new Date('2024-11-03T04:00:00Z'), new Date('2024-11-04T05:00:00Z'));
      expect(iso(day)).toEqual([
        '2024-11-03T04:30:00.000Z',
        '2024-11-03T05:30:00.000Z',
        '2024-11-03T07:30:00.000Z',
      ]);
    });
  });

  it('runs a weekly schedule only on its days, across a DST change', () => {
    const s: Schedule = {
      frequency: 'weekly',
      timeZone: 'America/New_York',
      daysOfWeek: ['Monday', 'Saturday'],
      times: ['23:00'],
    };
    expect(iso(nextRunTimes(s, new Date('2024-10-28T00:00:00Z'), 4))).toEqual([
      '2024-10-29T03:00:00.000Z', // Mon Oct 28 23:00 EDT
      '2024-11-03T03:00:00.000Z', // Sat Nov 2 23:00 EDT
      '2024-11-05T04:00:00.000Z', // Mon Nov 4 23:00 EST
      '2024-11-10T04:00:00.000Z', // Sat Nov 9 23:00 EST
    ]);
  });

  it('runs on leap day', () => {
    const runs = nextRunTimes(daily('UTC', '12:00'), new Date('2024-02-28T13:00:00Z'), 2);
    expect(iso(runs)).toEqual(['2024-02-29T12:00:00.000Z', '2024-03-01T12:00:00.000Z']);
    const weekly: Schedule = {
      frequency: 'weekly',
      timeZone: 'UTC',
      daysOfWeek: ['Thursday'],
      times: ['12:00'],
    };
    expect(iso(nextRunTimes(weekly, new Date('2024-02-23T00:00:00Z'), 1))).toEqual([
      '2024-02-29T12:00:00.000Z',
    ]);
  });

  it('crosses the year boundary in the local zone', () => {
    const runs = nextRunTimes(daily('Asia/Tokyo', '08:00', '23:30'), new Date('2024-12-31T00:00:00Z'), 3);
    expect(iso(runs)).toEqual([
      '2024-12-31T14:30:00.000Z', // Dec 31 23:30 JST
      '2024-12-31T23:00:00.000Z', // Jan 1 08:00 JST, still Dec 31 in UTC
      '2025-01-01T14:30:00.000Z',
    ]);
  });

  it("runs Samoa's skipped day (2011-12-30) once, merged into Dec 31", () => {
    const runs = nextRunTimes(daily('Pacific/Apia', '22:30'), new Date('2011-12-29T09:00:00Z'), 3);
    expect(iso(runs)).toEqual([
      '2011-12-30T08:30:00.000Z',
      '2011-12-31T08:30:00.000Z',
      '2012-01-01T08:30:00.000Z',
    ]);
  });

  it('returns nothing for count 0 and rejects a bad count or date', () => {
    const s = daily('UTC', '22:30');
    expect(nextRunTimes(s, new Date('2024-01-01T00:00:00Z'), 0)).toEqual([]);
    expect(() => nextRunTimes(s, new Date('2024-01-01T00:00:00Z'), -1)).toThrow(RangeError);
    expect(() => nextRunTimes(s, new Date('2024-01-01T00:00:00Z'), 1.5)).toThrow(RangeError);
    expect(() => nextRunTimes(s, new Date('not a date'), 1)).toThrow(RangeError);
  });
});

describe('runTimesBetween', () => {
  const s = daily('UTC', '06:00', '18:00');

  it('includes the start and excludes the end', () => {
    const runs = runTimesBetween(s, new Date('2024-05-01T06:00:00Z'), new Date('2024-05-02T06:00:00Z'));
    expect(iso(runs)).toEqual(['2024-05-01T06:00:00.000Z', '2024-05-01T18:00:00.000Z']);
  });

  it('is empty for an empty or reversed window', () => {
    const t = new Date('2024-05-01T06:00:00Z');
    expect(runTimesBetween(s, t, t)).toEqual([]);
    expect(runTimesBetween(s, t, new Date('2024-04-01T00:00:00Z'))).toEqual([]);
    expect(runTimesBetween(s, t, new Date(t.getTime() + 1))).toHaveLength(1);
  });

  it('covers a year: 366 days in 2024 with two runs each', () => {
    expect(
      runTimesBetween(s, new Date('2024-01-01T00:00:00Z'), new Date('2025-01-01T00:00:00Z')),
    ).toHaveLength(732);
  });

  it('a timer that ticks at arbitrary instants starts every run exactly once', () => {
    const berlin = daily('Europe/Berlin', '02:30', '14:00');
    const ticks = [
      '2024-03-30T00:00:00Z',
      '2024-03-31T01:29:59Z',
      '2024-03-31T01:30:00Z',
      '2024-03-31T13:07:00Z',
      '2024-10-27T00:30:00Z',
      '2024-10-27T01:30:00Z',
      '2024-11-01T00:00:00Z',
    ].map((t) => new Date(t));
    const started = ticks.slice(1).flatMap((to, i) => runTimesBetween(berlin, ticks[i] ?? to, to));
    const first = ticks[0] ?? new Date(0);
    const last = ticks[ticks.length - 1] ?? new Date(0);
    expect(iso(started)).toEqual(iso(runTimesBetween(berlin, first, last)));
  });
});

describe('schedule properties', () => {
  it.each(seeds(7000, 60))('seed %i: runTimesBetween agrees with nextRunTimes', (seed) => {
    withSeed(seed, () => {
      const g = new Gen(seed);
      const schedule = randomSchedule(g);
      const from = new Date(Date.UTC(2020, 0, 1) + g.int(0, 6 * 365) * 86_400_000 + g.int(0, 86_399_999));
      const to = new Date(from.getTime() + g.int(0, 60) * 86_400_000 + g.int(0, 86_399_999));
      const between = runTimesBetween(schedule, from, to);
      const next = nextRunTimes(schedule, new Date(from.getTime() - 1), between.length + 1);
      expect(iso(next.slice(0, between.length))).toEqual(iso(between));
      expect(next[between.length]?.getTime()).toBeGreaterThanOrEqual(to.getTime());
      for (let i = 1; i < between.length; i += 1) {
        expect(between[i]?.getTime()).toBeGreaterThan(between[i - 1]?.getTime() ?? 0);
      }
    });
  });
});
