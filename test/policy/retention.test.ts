import type { Policy } from '../../shared/policy/policy';
import { MAX_RECOVERY_POINTS_PER_ITEM } from '../../shared/policy/policyLimits';
import { planRetention, previewPolicyChange, type RecoveryPointRef } from '../../shared/policy/retention';

const DAY = 86_400_000;
const NOW = new Date('2024-05-20T12:00:00Z');

function dailyPolicy(days: number, timeZone = 'UTC'): Policy {
  return {
    schedule: { frequency: 'daily', timeZone, times: ['22:30'] },
    instantRestoreDays: 2,
    retention: { daily: { days } },
  };
}

/** One scheduled point at 22:30Z on each of the `count` days before NOW's day. */
function dailyPoints(count: number): RecoveryPointRef[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `d${String(i).padStart(3, '0')}`,
    time: new Date(Date.parse('2024-05-19T22:30:00Z') - (count - 1 - i) * DAY),
    kind: 'scheduled' as const,
  }));
}

describe('planRetention', () => {
  it('plans nothing for no points', () => {
    expect(planRetention(dailyPolicy(7), [], NOW)).toEqual({ keep: [], delete: [] });
  });

  it('rejects input that cannot come from a sound inventory, before planning anything', () => {
    const p = dailyPoints(2);
    const dup: RecoveryPointRef[] = [...p, { id: 'd001', time: NOW, kind: 'adhoc' }];
    expect(() => planRetention(dailyPolicy(7), dup, NOW)).toThrow(/d001 appears twice/);
    expect(() => planRetention(dailyPolicy(7), p, new Date(Number.NaN))).toThrow(/nowUtc/);
    const badTime = [{ id: 'x', time: new Date(Number.NaN), kind: 'scheduled' as const }];
    expect(() => planRetention(dailyPolicy(7), badTime, NOW)).toThrow(/invalid time/);
    const badUntil = [{ id: 'x', time: NOW, kind: 'adhoc' as const, retainUntil: new Date(Number.NaN) }];
    expect(() => planRetention(dailyPolicy(7), badUntil, NOW)).toThrow(/invalid retainUntil/);
  });

  it('does not depend on the order of its input and does not change it', () => {
    const points = dailyPoints(20);
    const shuffled = [...points].reverse();
    const before = JSON.stringify(shuffled);
    expect(planRetention(dailyPolicy(7), shuffled, NOW)).toEqual(planRetention(dailyPolicy(7), points, NOW));
    expect(JSON.stringify(shuffled)).toBe(before);
  });

  it('breaks a tie between two points of the same instant by id, deterministically', () => {
    // Fri May 10: out of daily 7 days, in weekly (Friday, 4 weeks), which keeps only the day's point.
    const time = new Date('2024-05-10T22:30:00Z');
    const policy: Policy = {
      ...dailyPolicy(7),
      retention: { daily: { days: 7 }, weekly: { weeks: 4, daysOfWeek: ['Friday'] } },
    };
    const plan = planRetention(
      policy,
      [
        { id: 'b', time, kind: 'scheduled' },
        { id: 'a', time, kind: 'scheduled' },
      ],
      NOW,
    );
    expect(plan.keep.map((k) => k.id)).toEqual(['b']);
    expect(plan.delete).toEqual([{ id: 'a', reason: 'expired' }]);
  });

  it("keeps a point from the future (clock skew) as today's or later day's point", () => {
    const plan = planRetention(
      dailyPolicy(7),
      [{ id: 'f', time: new Date('2024-05-21T22:30:00Z'), kind: 'scheduled' }],
      NOW,
    );
    expect(plan.keep).toEqual([
      { id: 'f', reasons: ['daily', 'instantRestore'], expiresAt: new Date('2024-05-29T00:00:00Z') },
    ]);
  });

  it('assigns points to days in the policy zone, so a zone change moves day boundaries', () => {
    // 2024-05-12T23:30Z is May 12 in UTC but May 13 in Berlin (CEST): 7 days back from May 20 is May 13.
    const points: RecoveryPointRef[] = [
      { id: 'edge', time: new Date('2024-05-12T23:30:00Z'), kind: 'scheduled' },
    ];
    expect(planRetention(dailyPolicy(7, 'UTC'), points, NOW).delete).toEqual([
      { id: 'edge', reason: 'expired' },
    ]);
    expect(planRetention(dailyPolicy(7, 'Europe/Berlin'), points, NOW).keep.map((k) => k.id)).toEqual([
      'edge',
    ]);
  });

  it('never drops ad-hoc points for the cap, even when they alone exceed it', () => {
    const count = MAX_RECOVERY_POINTS_PER_ITEM + 1;
    const adhoc: RecoveryPointRef[] = Array.from({ length: count }, (_, i) => ({
      id: `a${String(i).padStart(5, '0')}`,
      time: new Date(NOW.getTime() - (i + 1) * 60_000),
      kind: 'adhoc',
      retainUntil: new Date(NOW.getTime() + DAY),
    }));
    const scheduled = dailyPoints(3);
    const plan = planRetention(dailyPolicy(7), [...adhoc, ...scheduled], NOW);
    expect(plan.keep).toHaveLength(count);
    expect(plan.delete).toEqual(scheduled.map((p) => ({ id: p.id, reason: 'overCap' })));
  });

  it('keeps exactly the cap without dropping anything', () => {
    const points = dailyPoints(MAX_RECOVERY_POINTS_PER_ITEM);
    const plan = planRetention(dailyPolicy(9999), points, NOW);
    expect(plan.keep).toHaveLength(MAX_RECOVERY_POINTS_PER_ITEM);
    expect(plan.delete).toEqual([]);
  });
});

describe('previewPolicyChange', () => {
  it('shows what a reduction deletes and which rule kept each point', () => {
    const points = dailyPoints(10);
    const preview = previewPolicyChange(dailyPolicy(30), dailyPolicy(7), points, NOW);
    // Daily 7 keeps days >= May 13: the three points May 10-12 are lost.
    expect(preview.newlyDeleted).toEqual([
      { id: 'd000', reason: 'expired', keptByCurrent: ['daily'] },
      { id: 'd001', reason: 'expired', keptByCurrent: ['daily'] },
      { id: 'd002', reason: 'expired', keptByCurrent: ['daily'] },
    ]);
    expect(preview.newlyKept).toEqual([]);
    expect(preview.plan).toEqual(planRetention(dailyPolicy(7), points, NOW));
  });

  it('shows what an extension keeps that would have been deleted', () => {
    const points = dailyPoints(10);
    const preview = previewPolicyChange(dailyPolicy(7), dailyPolicy(30), points, NOW);
    expect(preview.newlyDeleted).toEqual([]);
    expect(preview.newlyKept.map((k) => k.id)).toEqual(['d000', 'd001', 'd002']);
  });

  it('changes nothing when the policy does not change', () => {
    const points = dailyPoints(40);
    const preview = previewPolicyChange(dailyPolicy(14), dailyPolicy(14), points, NOW);
    expect(preview.newlyDeleted).toEqual([]);
    expect(preview.newlyKept).toEqual([]);
  });
});
