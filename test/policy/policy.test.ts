import {
  DEFAULT_POLICY_TIME,
  POLICY_INVALID,
  defaultPolicy,
  validatePolicy,
  type Policy,
  type PolicyIssue,
} from '../../shared/policy/policy';
import {
  DAILY_RETENTION_MAX_DAYS,
  DAILY_RETENTION_MIN_DAYS,
  INSTANT_RESTORE_MAX_DAYS,
  MONTHLY_RETENTION_MAX_MONTHS,
  WEEKLY_RETENTION_MAX_WEEKS,
  YEARLY_RETENTION_MAX_YEARS,
} from '../../shared/policy/policyLimits';

/** A valid policy with every rule, to break one field at a time. */
function fullPolicy(): Policy {
  return {
    schedule: { frequency: 'daily', timeZone: 'Europe/Berlin', times: ['22:30'] },
    instantRestoreDays: 2,
    retention: {
      daily: { days: 30 },
      weekly: { weeks: 12, daysOfWeek: ['Sunday'] },
      monthly: { months: 12, format: 'daysOfMonth', daysOfMonth: [1, 'Last'] },
      yearly: {
        years: 10,
        monthsOfYear: ['January'],
        format: 'weekdaysOfMonth',
        weeksOfMonth: ['First'],
        daysOfWeek: ['Sunday'],
      },
    },
  };
}

/** A weekly-schedule policy that Azure accepts. */
function weeklyPolicy(): Policy {
  return {
    schedule: { frequency: 'weekly', timeZone: 'UTC', daysOfWeek: ['Sunday', 'Wednesday'], times: ['01:00'] },
    instantRestoreDays: 5,
    retention: {
      weekly: { weeks: 4, daysOfWeek: ['Wednesday', 'Sunday'] },
      monthly: { months: 6, format: 'weekdaysOfMonth', weeksOfMonth: ['Last'], daysOfWeek: ['Sunday'] },
    },
  };
}

function issuesOf(input: unknown): readonly PolicyIssue[] {
  const result = validatePolicy(input);
  if (result.ok) throw new Error('expected the policy to be rejected');
  expect(result.code).toBe(POLICY_INVALID);
  return result.issues;
}

/** Deep-copies the full policy and applies one change. */
function withChange(
  change: (p: Record<string, unknown> & Policy) => void,
  base: Policy = fullPolicy(),
): unknown {
  const copy = structuredClone(base) as Record<string, unknown> & Policy;
  change(copy);
  return copy;
}

describe('defaultPolicy', () => {
  it("is Azure's DefaultPolicy: daily, daily retention 30 days, instant restore 2 days", () => {
    expect(defaultPolicy()).toEqual({
      schedule: { frequency: 'daily', timeZone: 'UTC', times: [DEFAULT_POLICY_TIME] },
      instantRestoreDays: 2,
      retention: { daily: { days: 30 } },
    });
  });

  it('takes the time zone and passes validation', () => {
    const policy = defaultPolicy('America/New_York');
    expect(policy.schedule.timeZone).toBe('America/New_York');
    expect(validatePolicy(policy)).toEqual({ ok: true, policy });
  });

  it('returns a fresh object each time (callers may edit it)', () => {
    expect(defaultPolicy()).not.toBe(defaultPolicy());
  });
});

describe('validatePolicy: accepted policies', () => {
  it.each([
    ['all four rules', fullPolicy()],
    ['a weekly schedule', weeklyPolicy()],
    [
      'six times a day',
      withChange((p) => (p.schedule.times = ['00:00', '04:00', '08:00', '12:00', '16:00', '20:30'])),
    ],
    [
      'the upper limits',
      withChange((p) => {
        p.instantRestoreDays = INSTANT_RESTORE_MAX_DAYS;
        p.retention.daily = { days: DAILY_RETENTION_MAX_DAYS };
        p.retention.weekly = { weeks: WEEKLY_RETENTION_MAX_WEEKS, daysOfWeek: ['Monday'] };
        p.retention.monthly = {
          months: MONTHLY_RETENTION_MAX_MONTHS,
          format: 'daysOfMonth',
          daysOfMonth: [28],
        };
        p.retention.yearly = {
          years: YEARLY_RETENTION_MAX_YEARS,
          monthsOfYear: ['December'],
          format: 'daysOfMonth',
          daysOfMonth: ['Last'],
        };
      }),
    ],
    [
      'the lower limits',
      withChange((p) => {
        p.instantRestoreDays = 1;
        p.retention.daily = { days: DAILY_RETENTION_MIN_DAYS };
        p.retention.weekly = { weeks: 1, daysOfWeek: ['Monday'] };
      }),
    ],
    ['a three-part zone name', withChange((p) => (p.schedule.timeZone = 'America/Argentina/Buenos_Aires'))],
    ['an Etc zone', withChange((p) => (p.schedule.timeZone = 'Etc/GMT+5'))],
  ])('%s', (_name, input) => {
    const result = validatePolicy(input);
    expect(result).toEqual({ ok: true, policy: input });
  });
});

describe('validatePolicy: field rules', () => {
  it.each([
    [
      'daily retention below 7 days',
      (p: Policy) => (p.retention.daily = { days: 6 }),
      'retention.daily.days',
      /7 to 9999.*daily retention/,
    ],
    [
      'daily retention above 9999 days',
      (p: Policy) => (p.retention.daily = { days: 10000 }),
      'retention.daily.days',
      /7 to 9999/,
    ],
    [
      'a fractional day count',
      (p: Policy) => (p.retention.daily = { days: 7.5 }),
      'retention.daily.days',
      /whole number/,
    ],
    [
      'weekly retention of 0 weeks',
      (p: Policy) => (p.retention.weekly = { weeks: 0, daysOfWeek: ['Sunday'] }),
      'retention.weekly.weeks',
      /1 to 5163/,
    ],
    [
      'weekly retention above 5163 weeks',
      (p: Policy) => (p.retention.weekly = { weeks: 5164, daysOfWeek: ['Sunday'] }),
      'retention.weekly.weeks',
      /1 to 5163/,
    ],
    [
      'monthly retention above 1188 months',
      (p: Policy) => {
        if (p.retention.monthly) p.retention.monthly.months = 1189;
      },
      'retention.monthly.months',
      /1 to 1188/,
    ],
    [
      'yearly retention above 99 years',
      (p: Policy) => {
        if (p.retention.yearly) p.retention.yearly.years = 100;
      },
      'retention.yearly.years',
      /1 to 99/,
    ],
    ['instant restore of 0 days', (p: Policy) => (p.instantRestoreDays = 0), 'instantRestoreDays', /1 to 30/],
    [
      'instant restore above 30 days',
      (p: Policy) => (p.instantRestoreDays = 31),
      'instantRestoreDays',
      /1 to 30/,
    ],
    [
      'day 29 of the month',
      (p: Policy) => (p.retention.monthly = { months: 1, format: 'daysOfMonth', daysOfMonth: [29] }),
      'retention.monthly.daysOfMonth.0',
      /1 to 28 or "Last"/,
    ],
    [
      'day 0 of the month',
      (p: Policy) => (p.retention.monthly = { months: 1, format: 'daysOfMonth', daysOfMonth: [0] }),
      'retention.monthly.daysOfMonth.0',
      /1 to 28 or "Last"/,
    ],
    [
      'a repeated day of the month',
      (p: Policy) => (p.retention.monthly = { months: 1, format: 'daysOfMonth', daysOfMonth: [1, 1] }),
      'retention.monthly.daysOfMonth',
      /must not repeat/,
    ],
    [
      'an empty day list',
      (p: Policy) => (p.retention.weekly = { weeks: 1, daysOfWeek: [] }),
      'retention.weekly.daysOfWeek',
      /at least one day of the week/,
    ],
    [
      'a repeated day of the week',
      (p: Policy) => (p.retention.weekly = { weeks: 1, daysOfWeek: ['Sunday', 'Sunday'] }),
      'retention.weekly.daysOfWeek',
      /must not repeat/,
    ],
    [
      'an abbreviated day name',
      (p: Policy) => ((p.retention.weekly as { daysOfWeek: string[] }).daysOfWeek = ['Sun']),
      'retention.weekly.daysOfWeek.0',
      /one of Sunday, Monday/,
    ],
    [
      'an unknown month',
      (p: Policy) => ((p.retention.yearly as { monthsOfYear: string[] }).monthsOfYear = ['Jan']),
      'retention.yearly.monthsOfYear.0',
      /one of January/,
    ],
    [
      'an unknown week of the month',
      (p: Policy) => ((p.retention.yearly as { weeksOfMonth: string[] }).weeksOfMonth = ['Fifth']),
      'retention.yearly.weeksOfMonth.0',
      /one of First, Second, Third, Fourth, Last/,
    ],
    [
      'an unknown monthly format',
      (p: Policy) => ((p.retention.monthly as { format: string }).format = 'daily'),
      'retention.monthly.format',
      /"daysOfMonth" or "weekdaysOfMonth"/,
    ],
    [
      'a time not on the half hour',
      (p: Policy) => (p.schedule.times = ['22:15']),
      'schedule.times.0',
      /multiples of 30 minutes/,
    ],
    [
      '24:00',
      (p: Policy) => (p.schedule.times = ['24:00']),
      'schedule.times.0',
      /24-hour time of day "HH:mm"/,
    ],
    [
      'a time without a leading zero',
      (p: Policy) => (p.schedule.times = ['2:30']),
      'schedule.times.0',
      /"HH:mm"/,
    ],
    [
      'seven times a day',
      (p: Policy) => (p.schedule.times = ['00:00', '01:00', '02:00', '03:00', '04:00', '05:00', '06:00']),
      'schedule.times',
      /at most 6 times/,
    ],
    ['no time', (p: Policy) => (p.schedule.times = []), 'schedule.times', /at least one time/],
    [
      'a repeated time',
      (p: Policy) => (p.schedule.times = ['01:00', '01:00']),
      'schedule.times',
      /must not repeat/,
    ],
    [
      'a zone abbreviation',
      (p: Policy) => (p.schedule.timeZone = 'EST'),
      'schedule.timeZone',
      /IANA time zone/,
    ],
    ['an offset', (p: Policy) => (p.schedule.timeZone = '+01:00'), 'schedule.timeZone', /IANA time zone/],
    ['lower-case utc', (p: Policy) => (p.schedule.timeZone = 'utc'), 'schedule.timeZone', /IANA time zone/],
    [
      'an unknown zone',
      (p: Policy) => (p.schedule.timeZone = 'Mars/Olympus_Mons'),
      'schedule.timeZone',
      /IANA time zone/,
    ],
    [
      'an unknown frequency',
      (p: Policy) => ((p.schedule as { frequency: string }).frequency = 'hourly'),
      'schedule.frequency',
      /"daily" or "weekly"/,
    ],
  ])('rejects %s', (_name, change, path, rule) => {
    const issues = issuesOf(withChange(change));
    expect(issues).toHaveLength(1);
    const [issue] = issues;
    expect(issue?.path).toBe(path);
    // The message names the field and the rule.
    expect(issue?.message.startsWith(`${path} `)).toBe(true);
    expect(issue?.message).toMatch(rule);
  });

  it('says a missing field is required', () => {
    expect(
      issuesOf(withChange((p) => delete (p as { instantRestoreDays?: number }).instantRestoreDays)),
    ).toEqual([{ path: 'instantRestoreDays', message: 'instantRestoreDays is required' }]);
    expect(issuesOf({})).toEqual([
      { path: 'schedule', message: 'schedule is required' },
      { path: 'instantRestoreDays', message: 'instantRestoreDays is required' },
      { path: 'retention', message: 'retention is required' },
    ]);
  });

  it('rejects each unknown field at its own path (strict objects)', () => {
    const input = withChange((p) => {
      p.extra = true;
      (p.retention.daily as Record<string, unknown>).count = 30;
    });
    expect(issuesOf(input)).toEqual([
      {
        path: 'retention.daily.count',
        message:
          'retention.daily.count is not a known field (policies are strict: a misspelt field is rejected, not ignored)',
      },
      {
        path: 'extra',
        message:
          'extra is not a known field (policies are strict: a misspelt field is rejected, not ignored)',
      },
    ]);
  });

  it.each([null, 42, 'policy', []])('rejects %p as a policy', (input) => {
    expect(issuesOf(input)).toEqual([{ path: '', message: 'policy must be an object' }]);
  });

  it('lists every field problem at once', () => {
    const input = withChange((p) => {
      p.instantRestoreDays = 0;
      p.schedule.times = ['25:00'];
      p.retention.daily = { days: 1 };
    });
    expect(issuesOf(input).map((i) => i.path)).toEqual([
      'schedule.times.0',
      'instantRestoreDays',
      'retention.daily.days',
    ]);
  });
});

describe('validatePolicy: rules across fields (Azure PolicyHelpers)', () => {
  it('requires daily retention with a daily schedule', () => {
    expect(issuesOf(withChange((p) => delete p.retention.daily))).toEqual([
      {
        path: 'retention.daily',
        message:
          'retention.daily is required with a daily schedule (Azure: daily backups need daily retention)',
      },
    ]);
  });

  it('forbids daily retention with a weekly schedule', () => {
    const issues = issuesOf(withChange((p) => (p.retention.daily = { days: 7 }), weeklyPolicy()));
    expect(issues).toEqual([
      {
        path: 'retention.daily',
        message:
          'retention.daily must be absent with a weekly schedule (Azure: weekly backups have no daily retention)',
      },
    ]);
  });

  it('requires weekly retention with a weekly schedule', () => {
    expect(issuesOf(withChange((p) => delete p.retention.weekly, weeklyPolicy())).map((i) => i.path)).toEqual(
      ['retention.weekly'],
    );
  });

  it.each([
    ['a subset', ['Sunday']],
    ['a superset', ['Sunday', 'Wednesday', 'Friday']],
    ['other days', ['Monday', 'Tuesday']],
  ] as const)('requires the weekly retention days to be the schedule days, not %s', (_name, days) => {
    const issues = issuesOf(
      withChange((p) => (p.retention.weekly = { weeks: 4, daysOfWeek: [...days] }), weeklyPolicy()),
    );
    expect(issues).toEqual([
      {
        path: 'retention.weekly.daysOfWeek',
        message:
          "retention.weekly.daysOfWeek must be the schedule's days (Sunday, Wednesday) with a weekly schedule " +
          '(Azure: weekly retention keeps every weekly backup)',
      },
    ]);
  });

  it('forbids days of the month in monthly and yearly rules under a weekly schedule', () => {
    const input = withChange((p) => {
      p.retention.monthly = { months: 6, format: 'daysOfMonth', daysOfMonth: [1] };
      p.retention.yearly = { years: 1, monthsOfYear: ['June'], format: 'daysOfMonth', daysOfMonth: ['Last'] };
    }, weeklyPolicy());
    expect(issuesOf(input).map((i) => i.path)).toEqual([
      'retention.monthly.format',
      'retention.yearly.format',
    ]);
  });

  it('requires monthly and yearly weekdays to be backup days under a weekly schedule', () => {
    const input = withChange((p) => {
      p.retention.yearly = {
        years: 1,
        monthsOfYear: ['June'],
        format: 'weekdaysOfMonth',
        weeksOfMonth: ['First'],
        daysOfWeek: ['Sunday', 'Friday'],
      };
    }, weeklyPolicy());
    expect(issuesOf(input)).toEqual([
      {
        path: 'retention.yearly.daysOfWeek.1',
        message:
          "retention.yearly.daysOfWeek.1 (Friday) must be one of the schedule's days Sunday, Wednesday " +
          '(Azure: monthly and yearly days of the week must be a subset of the backup days)',
      },
    ]);
  });

  it('allows any weekly retention days with a daily schedule', () => {
    expect(
      validatePolicy(withChange((p) => (p.retention.weekly = { weeks: 2, daysOfWeek: ['Friday', 'Monday'] })))
        .ok,
    ).toBe(true);
  });

  it('checks rules across fields only once every field is valid', () => {
    const input = withChange((p) => {
      delete p.retention.daily;
      p.instantRestoreDays = 99;
    });
    expect(issuesOf(input).map((i) => i.path)).toEqual(['instantRestoreDays']);
  });
});
