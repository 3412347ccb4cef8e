// Does a policy change let any recovery point go sooner? An immutable vault refuses such a change
// (reliability row 11: "any reduction of retention" is blocked). Pure, and deliberately strict: the
// retention planner re-applies the current policy to every existing point, so a rule may only grow
// longer. Changing which points a rule keeps (its weekdays, days or months, its format), dropping a
// rule, a shorter instant-restore period or another schedule time zone (which moves day boundaries)
// all count as reductions, even where a particular change might happen to keep everything.
import type { Policy, Retention } from './policy';

const LENGTH_FIELD = { daily: 'days', weekly: 'weeks', monthly: 'months', yearly: 'years' } as const;

/** The first field whose change could expire a point sooner (`retention.daily.days`, …), or undefined. */
export function retentionReduction(before: Policy, after: Policy): string | undefined {
  if (after.instantRestoreDays < before.instantRestoreDays) return 'instantRestoreDays';
  if (after.schedule.timeZone !== before.schedule.timeZone) return 'schedule.timeZone';
  return rulesReduction(before.retention, after.retention);
}

/** The retention rules alone (see retentionReduction). */
export function rulesReduction(before: Retention, after: Retention): string | undefined {
  for (const rule of Object.keys(LENGTH_FIELD) as (keyof Retention)[]) {
    const was = before[rule] as Record<string, unknown> | undefined;
    if (was === undefined) continue;
    const unit = LENGTH_FIELD[rule];
    const now = after[rule] as Record<string, unknown> | undefined;
    if (now === undefined || (now[unit] as number) < (was[unit] as number))
      return `retention.${rule}.${unit}`;
    // The same points must be selected: every other field of the rule unchanged.
    for (const key of new Set([...Object.keys(was), ...Object.keys(now)])) {
      if (key !== unit && JSON.stringify(was[key]) !== JSON.stringify(now[key]))
        return `retention.${rule}.${key}`;
    }
  }
  return undefined;
}
