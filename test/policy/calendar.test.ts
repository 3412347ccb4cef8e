import {
  addMonths,
  addYears,
  calendarDateOf,
  dayOfWeekOf,
  epochDayOf,
  formatEpochDay,
  isLastDayOfMonth,
  weeksOfMonthOf,
} from '../../shared/policy/calendar';

const day = (iso: string): number => {
  const [y, m, d] = iso.split('-').map(Number);
  return epochDayOf({ year: y ?? 0, month: m ?? 0, day: d ?? 0 });
};

describe('calendar', () => {
  it('maps dates to epoch days and back', () => {
    expect(day('1970-01-01')).toBe(0);
    expect(day('2024-01-01')).toBe(19723);
    expect(day('1969-12-31')).toBe(-1);
    expect(calendarDateOf(19723)).toEqual({ year: 2024, month: 1, day: 1 });
    expect(formatEpochDay(day('2024-02-29'))).toBe('2024-02-29');
  });

  it('names days of the week, also before 1970', () => {
    expect(dayOfWeekOf(day('1970-01-01'))).toBe('Thursday');
    expect(dayOfWeekOf(day('2024-02-29'))).toBe('Thursday');
    expect(dayOfWeekOf(day('1969-12-28'))).toBe('Sunday');
  });

  it.each([
    ['2024-01-31', 1, '2024-02-29'],
    ['2023-01-31', 1, '2023-02-28'],
    ['2024-03-31', 3, '2024-06-30'],
    ['2024-11-15', 2, '2025-01-15'],
    ['2024-12-31', 1188, '2123-12-31'],
    ['2024-03-31', -1, '2024-02-29'],
  ])('%s + %i months = %s (clamped to the month end)', (from, months, to) => {
    expect(formatEpochDay(addMonths(day(from), months))).toBe(to);
  });

  it('moves Feb 29 to Feb 28 in a common year and keeps it in a leap year', () => {
    expect(formatEpochDay(addYears(day('2024-02-29'), 1))).toBe('2025-02-28');
    expect(formatEpochDay(addYears(day('2024-02-29'), 4))).toBe('2028-02-29');
  });

  it('knows the last day of each month, including leap Februaries', () => {
    expect(isLastDayOfMonth(day('2024-02-29'))).toBe(true);
    expect(isLastDayOfMonth(day('2024-02-28'))).toBe(false);
    expect(isLastDayOfMonth(day('2023-02-28'))).toBe(true);
    expect(isLastDayOfMonth(day('1900-02-28'))).toBe(true);
    expect(isLastDayOfMonth(day('2000-02-29'))).toBe(true);
    expect(isLastDayOfMonth(day('2024-04-30'))).toBe(true);
  });

  it.each([
    ['2024-03-01', ['First']],
    ['2024-03-07', ['First']],
    ['2024-03-08', ['Second']],
    ['2024-03-24', ['Fourth']],
    ['2024-03-25', ['Fourth', 'Last']],
    ['2024-03-29', ['Last']],
    ['2024-03-21', ['Third']],
    ['2024-02-22', ['Fourth']],
    ['2024-02-23', ['Fourth', 'Last']],
    ['2023-02-22', ['Fourth', 'Last']],
    ['2023-02-21', ['Third']],
  ])('%s is in weeks %j of its month', (iso, weeks) => {
    expect(weeksOfMonthOf(day(iso))).toEqual(weeks);
  });
});
