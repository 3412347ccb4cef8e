// Does a policy change shorten how long any recovery point is kept? An immutable vault refuses such a
// change (reliability row 11: "any reduction of retention" is blocked). Pure: compares the retention
// rules field by field; a rule that disappears is a reduction, a new or longer rule is not.
import type { Retention } from './policy';

/** The first reduced field (`retention.daily.days`, …), or undefined if nothing is kept for less. */
export function retentionReduction(before: Retention, after: Retention): string | undefined {
  const rules: [keyof Retention, string, (r: NonNullable<Retention[keyof Retention]>) => number][] = [
    ['daily', 'days', (r) => (r as { days: number }).days],
    ['weekly', 'weeks', (r) => (r as { weeks: number }).weeks],
    ['monthly', 'months', (r) => (r as { months: number }).months],
    ['yearly', 'years', (r) => (r as { years: number }).years],
  ];
  for (const [rule, unit, length] of rules) {
    const was = before[rule];
    if (was === undefined) continue;
    const now = after[rule];
    if (now === undefined || length(now) < length(was)) return `retention.${rule}.${unit}`;
  }
  return undefined;
}
