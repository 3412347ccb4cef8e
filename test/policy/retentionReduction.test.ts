// retentionReduction: which policy changes keep some recovery point for less time (refused by an
// immutable vault), and which do not.
import type { Policy, Retention } from '../../shared/policy/policy';
import { retentionReduction, rulesReduction } from '../../shared/policy/retentionReduction';

const monthly = { months: 12, format: 'daysOfMonth' as const, daysOfMonth: [1] };
const yearly = {
  years: 5,
  monthsOfYear: ['January' as const],
  format: 'daysOfMonth' as const,
  daysOfMonth: [1],
};
const base: Retention = {
  daily: { days: 30 },
  weekly: { weeks: 12, daysOfWeek: ['Sunday'] },
  monthly,
  yearly,
};

it('names the first rule kept for less, or dropped', () => {
  expect(rulesReduction(base, { ...base, daily: { days: 29 } })).toBe('retention.daily.days');
  expect(rulesReduction(base, { ...base, weekly: { weeks: 11, daysOfWeek: ['Sunday'] } })).toBe(
    'retention.weekly.weeks',
  );
  expect(rulesReduction(base, { ...base, monthly: { ...monthly, months: 6 } })).toBe(
    'retention.monthly.months',
  );
  const { yearly: _dropped, ...noYearly } = base;
  expect(rulesReduction(base, noYearly)).toBe('retention.yearly.years');
});

it('a longer rule, a new rule, or the same retention is not a reduction', () => {
  expect(rulesReduction(base, base)).toBeUndefined();
  expect(rulesReduction(base, { ...base, daily: { days: 60 } })).toBeUndefined();
  expect(rulesReduction({ daily: { days: 7 } }, base)).toBeUndefined();
});

it('keeping other points (another weekday, day of month or format) counts as a reduction', () => {
  expect(rulesReduction(base, { ...base, weekly: { weeks: 52, daysOfWeek: ['Monday'] } })).toBe(
    'retention.weekly.daysOfWeek',
  );
  expect(rulesReduction(base, { ...base, monthly: { ...monthly, daysOfMonth: [2] } })).toBe(
    'retention.monthly.daysOfMonth',
  );
  const weekBased = {
    years: 10,
    monthsOfYear: ['January'],
    format: 'weekdaysOfMonth',
    weeksOfMonth: ['First'],
    daysOfWeek: ['Sunday'],
  };
  expect(rulesReduction(base, { ...base, yearly: weekBased } as Retention)).toMatch(/^retention\.yearly\./);
});

it('a shorter instant-restore period or another time zone is a reduction too', () => {
  const policy = {
    schedule: { frequency: 'daily', timeZone: 'UTC', times: ['01:00'] },
    instantRestoreDays: 5,
    retention: base,
  } as Policy;
  expect(retentionReduction(policy, policy)).toBeUndefined();
  expect(retentionReduction(policy, { ...policy, instantRestoreDays: 2 })).toBe('instantRestoreDays');
  const berlin = { ...policy, schedule: { ...policy.schedule, timeZone: 'Europe/Berlin' } };
  expect(retentionReduction(policy, berlin)).toBe('schedule.timeZone');
});
