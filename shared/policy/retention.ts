// The retention planner: given a policy, the item's recovery points and the time, which points to keep (and
// why, and until when) and which to delete. Pure and deterministic, so the prune job runs exactly the plan
// an admin was shown (STYLE §6: plan, then execute).
//
// Semantics (docs/policy.md has the long form):
// - The policy is re-applied to every existing point at every prune, so a changed policy changes the fate
//   of old points too (Azure: "If retention is reduced, recovery points are marked for pruning in the next
//   cleanup job").
// - Dates are local dates in the policy's time zone; point times are UTC instants.
// - The "day's point" of a local day is its latest scheduled point. Daily, weekly, monthly and yearly rules
//   keep only day's points (Azure Enhanced policy: "The last backup of the day is transferred to the
//   vault"); a day with no scheduled point has nothing to keep, and no other day's point stands in for it.
// - Every scheduled point, the day's point or not, is kept `instantRestoreDays` after its day.
// - Ad-hoc points ignore the policy: kept until their own `retainUntil` (default 30 days after the point).
// - A point is kept if any rule keeps it (GFS union); it expires when the last of those rules lets go.
// - At most MAX_RECOVERY_POINTS_PER_ITEM points are kept; past that, the scheduled points closest to
//   expiry are dropped first (reason 'overCap').
import { MS_PER_DAY } from './calendar';
import type { Policy } from './policy';
import { ADHOC_DEFAULT_RETENTION_DAYS, MAX_RECOVERY_POINTS_PER_ITEM } from './policyLimits';
import { dayPointRuleEnds, instantRestoreEnd } from './retentionRules';
import { localEpochDayOf, startOfLocalDay } from './zonedTime';

export type PointKind = 'scheduled' | 'adhoc';

export interface RecoveryPointRef {
  readonly id: string;
  /** When the backup was taken (UTC). */
  readonly time: Date;
  readonly kind: PointKind;
  /** Ad-hoc points only: kept until this instant. Ignored on scheduled points, which follow the policy. */
  readonly retainUntil?: Date;
}

/** Why a point is kept, in this fixed order in `reasons`. */
export const RETENTION_REASONS = ['daily', 'weekly', 'monthly', 'yearly', 'instantRestore', 'adhoc'] as const;
export type RetentionReason = (typeof RETENTION_REASONS)[number];

/** 'expired': no rule keeps the point any more. 'overCap': kept by a rule but over the item's point limit. */
export type DeletionReason = 'expired' | 'overCap';

export interface KeptPoint {
  readonly id: string;
  readonly reasons: readonly RetentionReason[];
  /** When the last rule keeping it lets go, if neither the policy nor the time zone's rules change. */
  readonly expiresAt: Date;
}

export interface DeletedPoint {
  readonly id: string;
  readonly reason: DeletionReason;
}

/** Both lists are ordered by point time, then id. */
export interface RetentionPlan {
  readonly keep: readonly KeptPoint[];
  readonly delete: readonly DeletedPoint[];
}

interface Verdict {
  readonly point: RecoveryPointRef;
  /** Each rule that keeps the point, with the instant it stops doing so. */
  readonly keptBy: ReadonlyMap<RetentionReason, number>;
}

function byTimeThenId(a: RecoveryPointRef, b: RecoveryPointRef): number {
  const dt = a.time.getTime() - b.time.getTime();
  if (dt !== 0) return dt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// Programming errors, not expected outcomes: the points come from our own inventory. Throwing before any
// plan exists means a corrupt inventory can never turn into deletions.
function assertValidInput(points: readonly RecoveryPointRef[], nowUtc: Date): void {
  if (Number.isNaN(nowUtc.getTime())) throw new RangeError('nowUtc is not a valid Date');
  const ids = new Set<string>();
  for (const p of points) {
    if (ids.has(p.id)) throw new RangeError(`recovery point id ${p.id} appears twice`);
    ids.add(p.id);
    if (Number.isNaN(p.time.getTime())) throw new RangeError(`recovery point ${p.id} has an invalid time`);
    if (p.retainUntil !== undefined && Number.isNaN(p.retainUntil.getTime())) {
      throw new RangeError(`recovery point ${p.id} has an invalid retainUntil`);
    }
  }
}

/** The latest scheduled point of each local day, by id. Ties in time go to the greater id, for determinism. */
function dayPointIds(scheduled: readonly { point: RecoveryPointRef; day: number }[]): Set<string> {
  const latest = new Map<number, RecoveryPointRef>();
  for (const { point, day } of scheduled) {
    const current = latest.get(day);
    if (current === undefined || byTimeThenId(current, point) < 0) latest.set(day, point);
  }
  return new Set([...latest.values()].map((p) => p.id));
}

function judge(policy: Policy, points: readonly RecoveryPointRef[], nowUtc: Date): Verdict[] {
  const now = nowUtc.getTime();
  const zone = policy.schedule.timeZone;
  const today = localEpochDayOf(nowUtc, zone);
  const scheduled = points
    .filter((p) => p.kind === 'scheduled')
    .map((point) => ({ point, day: localEpochDayOf(point.time, zone) }));
  const dayPoints = dayPointIds(scheduled);

  const verdicts: Verdict[] = [];
  for (const { point, day } of scheduled) {
    const keptBy = new Map<RetentionReason, number>();
    const keepThrough = (reason: RetentionReason, lastDay: number): void => {
      if (today <= lastDay) keptBy.set(reason, startOfLocalDay(lastDay + 1, zone).getTime());
    };
    if (dayPoints.has(point.id)) {
      for (const [rule, lastDay] of dayPointRuleEnds(policy, day)) keepThrough(rule, lastDay);
    }
    keepThrough('instantRestore', instantRestoreEnd(policy, day));
    verdicts.push({ point, keptBy });
  }
  for (const point of points) {
    if (point.kind !== 'adhoc') continue;
    const until =
      point.retainUntil?.getTime() ?? point.time.getTime() + ADHOC_DEFAULT_RETENTION_DAYS * MS_PER_DAY;
    verdicts.push({ point, keptBy: now < until ? new Map([['adhoc', until]]) : new Map() });
  }
  return verdicts.sort((a, b) => byTimeThenId(a.point, b.point));
}

function expiryOf(verdict: Verdict): number {
  return Math.max(...verdict.keptBy.values());
}

/**
 * The ids to drop so that at most MAX_RECOVERY_POINTS_PER_ITEM points stay: scheduled points that expire
 * soonest first (they are the ones the policy was about to let go), older first on a tie. Ad-hoc points are
 * an explicit promise and are never dropped here; the API refuses new ad-hoc backups at the limit instead.
 */
function overCapIds(kept: readonly Verdict[]): Set<string> {
  const excess = kept.length - MAX_RECOVERY_POINTS_PER_ITEM;
  if (excess <= 0) return new Set();
  const droppable = kept
    .filter((v) => v.point.kind === 'scheduled')
    .sort((a, b) => expiryOf(a) - expiryOf(b) || byTimeThenId(a.point, b.point));
  return new Set(droppable.slice(0, excess).map((v) => v.point.id));
}

/** What a prune at `nowUtc` keeps and deletes under `policy`. Never looks at the clock itself. */
export function planRetention(
  policy: Policy,
  points: readonly RecoveryPointRef[],
  nowUtc: Date,
): RetentionPlan {
  assertValidInput(points, nowUtc);
  const verdicts = judge(policy, points, nowUtc);
  const kept = verdicts.filter((v) => v.keptBy.size > 0);
  const overCap = overCapIds(kept);

  const keep: KeptPoint[] = [];
  const del: DeletedPoint[] = [];
  for (const verdict of verdicts) {
    const { id } = verdict.point;
    if (verdict.keptBy.size === 0) del.push({ id, reason: 'expired' });
    else if (overCap.has(id)) del.push({ id, reason: 'overCap' });
    else {
      keep.push({
        id,
        reasons: RETENTION_REASONS.filter((r) => verdict.keptBy.has(r)),
        expiresAt: new Date(expiryOf(verdict)),
      });
    }
  }
  return { keep, delete: del };
}

export interface PolicyChangePreview {
  /** Points the current policy keeps and the new one would delete at the next prune. */
  readonly newlyDeleted: readonly (DeletedPoint & { readonly keptByCurrent: readonly RetentionReason[] })[];
  /** Points the current policy would delete and the new one keeps (retention extended). */
  readonly newlyKept: readonly KeptPoint[];
  /** The full plan under the new policy: exactly what planRetention(newPolicy, points, nowUtc) returns. */
  readonly plan: RetentionPlan;
}

/** What applying `newPolicy` instead of `currentPolicy` would change at a prune at `nowUtc`. */
export function previewPolicyChange(
  currentPolicy: Policy,
  newPolicy: Policy,
  points: readonly RecoveryPointRef[],
  nowUtc: Date,
): PolicyChangePreview {
  const current = planRetention(currentPolicy, points, nowUtc);
  const plan = planRetention(newPolicy, points, nowUtc);
  const keptNow = new Map(current.keep.map((k) => [k.id, k.reasons]));
  const deletedNow = new Set(current.delete.map((d) => d.id));
  return {
    newlyDeleted: plan.delete.flatMap((d) => {
      const reasons = keptNow.get(d.id);
      return reasons === undefined ? [] : [{ ...d, keptByCurrent: reasons }];
    }),
    newlyKept: plan.keep.filter((k) => deletedNow.has(k.id)),
    plan,
  };
}
