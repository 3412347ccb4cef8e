// retentionReduction: which policy changes keep some recovery point for less time (refused by an
// immutable vault), and which do not.
import type { Retention } from '../../shared/policy/policy';
import { retentionReduction } from '../../shared/policy/retentionReduction';

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
  expect(retentionReduction(base, { ...base, daily: { days: 29 } })).toBe('retention.daily.days');
  expect(retentionReduction(base, { ...base, weekly: { weeks: 11, daysOfWeek: ['Sunday'] } })).toBe(
    'retention.weekly.weeks',
  );
  expect(retentionReduction(base, { ...base, monthly: { ...monthly, months: 6 } })).toBe(
    'retention.monthly.months',
  );
  const { yearly: _dropped, ...noYearly } = base;
  expect(retentionReduction(base, noYearly)).toBe('retention.yearly.years');
});

it('a longer rule, a new rule, or the same retention is not a reduction', () => {
  expect(retentionReduction(base, base)).toBeUndefined();
  expect(retentionReduction(base, { ...base, daily: { days: 60 } })).toBeUndefined();
  expect(retentionReduction({ daily: { days: 7 } }, base)).toBeUndefined();
  // Other fields of a rule (which weekday) do not shorten anything by themselves.
  expect(
    retentionReduction(base, { ...base, weekly: { weeks: 12, daysOfWeek: ['Monday'] } }),
  ).toBeUndefined();
});
