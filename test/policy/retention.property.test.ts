// Property tests over seeded random policies and histories. Each case names its seed on failure.
import { validatePolicy } from '../../shared/policy/policy';
import { planRetention, previewPolicyChange, type RecoveryPointRef } from '../../shared/policy/retention';
import { Gen, randomNow, randomPoints, randomPolicy, seeds, widerPolicy, withSeed } from './randomPolicies';

const CASES = 60;

function keptIds(points: readonly RecoveryPointRef[], ids: Iterable<string>): RecoveryPointRef[] {
  const set = new Set(ids);
  return points.filter((p) => set.has(p.id));
}

describe('planRetention properties', () => {
  it.each(seeds(1000, CASES))('seed %i: generated policies are valid', (seed) => {
    withSeed(seed, () => {
      const g = new Gen(seed);
      const policy = randomPolicy(g);
      expect(validatePolicy(policy)).toEqual({ ok: true, policy });
      expect(validatePolicy(widerPolicy(g, policy)).ok).toBe(true);
    });
  });

  it.each(seeds(2000, CASES))(
    'seed %i: every point is in exactly one list, ordered by time then id',
    (seed) => {
      withSeed(seed, () => {
        const g = new Gen(seed);
        const policy = randomPolicy(g);
        const now = randomNow(g);
        const points = randomPoints(g, policy.schedule, now);
        const plan = planRetention(policy, points, now);
        const listed = [...plan.keep, ...plan.delete].map((p) => p.id);
        expect(new Set(listed).size).toBe(points.length);
        expect(listed.sort()).toEqual(points.map((p) => p.id).sort());
        const timeOf = new Map(points.map((p) => [p.id, p.time.getTime()]));
        for (const list of [plan.keep, plan.delete]) {
          const keys = list.map((p) => [timeOf.get(p.id) ?? 0, p.id] as const);
          const sorted = [...keys].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
          expect(keys).toEqual(sorted);
        }
        // No point is kept past its expiry, and nothing is deleted for the cap this far below it.
        for (const k of plan.keep) expect(k.expiresAt.getTime()).toBeGreaterThan(now.getTime());
        expect(plan.delete.every((d) => d.reason === 'expired')).toBe(true);
      });
    },
  );

  it.each(seeds(3000, CASES))('seed %i: a policy that retains more keeps a superset', (seed) => {
    withSeed(seed, () => {
      const g = new Gen(seed);
      const narrow = randomPolicy(g);
      const wide = widerPolicy(g, narrow);
      const now = randomNow(g);
      const points = randomPoints(g, narrow.schedule, now);
      const wideKeep = new Map(planRetention(wide, points, now).keep.map((k) => [k.id, k]));
      for (const kept of planRetention(narrow, points, now).keep) {
        const widened = wideKeep.get(kept.id);
        expect(widened).toBeDefined();
        // Every rule that kept it still does, and it lives at least as long.
        expect(widened?.reasons).toEqual(expect.arrayContaining([...kept.reasons]));
        expect(widened?.expiresAt.getTime()).toBeGreaterThanOrEqual(kept.expiresAt.getTime());
      }
    });
  });

  it.each(seeds(4000, CASES))('seed %i: re-planning the kept points deletes nothing more', (seed) => {
    withSeed(seed, () => {
      const g = new Gen(seed);
      const policy = randomPolicy(g);
      const now = randomNow(g);
      const points = randomPoints(g, policy.schedule, now);
      const first = planRetention(policy, points, now);
      const again = planRetention(
        policy,
        keptIds(
          points,
          first.keep.map((k) => k.id),
        ),
        now,
      );
      expect(again.delete).toEqual([]);
      expect(again.keep).toEqual(first.keep);
    });
  });

  it.each(seeds(5000, CASES))('seed %i: the change preview agrees with planRetention(newPolicy)', (seed) => {
    withSeed(seed, () => {
      const g = new Gen(seed);
      const current = randomPolicy(g);
      // Half the time an unrelated policy (other zone, maybe other frequency), else a narrower/wider one.
      const next = g.bool() ? randomPolicy(g) : g.bool() ? widerPolicy(g, current) : current;
      const now = randomNow(g);
      const points = randomPoints(g, current.schedule, now);
      const preview = previewPolicyChange(current, next, points, now);
      const before = planRetention(current, points, now);
      const after = planRetention(next, points, now);
      expect(preview.plan).toEqual(after);
      const keptBefore = new Set(before.keep.map((k) => k.id));
      const deletedBefore = new Set(before.delete.map((d) => d.id));
      expect(preview.newlyDeleted.map((d) => d.id)).toEqual(
        after.delete.filter((d) => keptBefore.has(d.id)).map((d) => d.id),
      );
      expect(preview.newlyKept.map((k) => k.id)).toEqual(
        after.keep.filter((k) => deletedBefore.has(k.id)).map((k) => k.id),
      );
      for (const d of preview.newlyDeleted) {
        expect(d.keptByCurrent).toEqual(before.keep.find((k) => k.id === d.id)?.reasons);
      }
    });
  });

  it.each(seeds(6000, 50))('seed %i: a later prune never keeps what an earlier one deleted', (seed) => {
    withSeed(seed, () => {
      const g = new Gen(seed);
      const policy = randomPolicy(g);
      const now = randomNow(g);
      const points = randomPoints(g, policy.schedule, now);
      const deleted = new Set(planRetention(policy, points, now).delete.map((d) => d.id));
      const later = new Date(now.getTime() + g.int(1, 400) * 86_400_000);
      for (const k of planRetention(policy, points, later).keep) expect(deleted.has(k.id)).toBe(false);
    });
  });
});
