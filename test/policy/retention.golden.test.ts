// Golden files: every test/fixtures/retention/*.json holds a policy, the points, `now` and the plan worked
// out by hand (each fixture's description says why its boundary points are kept or deleted). The planner's
// output must equal it exactly, order included.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { planRetention, previewPolicyChange, type RetentionPlan } from '../../shared/policy/retention';
import { loadRetentionFixture, type JsonPlan } from './retentionFixture';

const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures', 'retention');
const files = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

function toJson(plan: RetentionPlan): JsonPlan {
  return {
    keep: plan.keep.map((k) => ({ id: k.id, reasons: [...k.reasons], expiresAt: k.expiresAt.toISOString() })),
    delete: plan.delete.map((d) => ({ id: d.id, reason: d.reason })),
  };
}

it('has the golden fixtures the brief asks for', () => {
  expect(files.length).toBeGreaterThanOrEqual(12);
});

describe.each(files)('%s', (file) => {
  const fixture = loadRetentionFixture(path.join(FIXTURE_DIR, file));

  it(`plans exactly the hand-checked result: ${fixture.title}`, () => {
    expect(toJson(planRetention(fixture.policy, fixture.points, fixture.now))).toEqual(fixture.expected);
  });

  it('lists every point once, in keep or delete', () => {
    const listed = [...fixture.expected.keep, ...fixture.expected.delete].map((p) => p.id).sort();
    expect(listed).toEqual(fixture.points.map((p) => p.id).sort());
  });

  const { previousPolicy, newlyDeleted } = fixture;
  if (previousPolicy !== undefined) {
    it('previews the change as the points the current policy keeps and the new one deletes', () => {
      const preview = previewPolicyChange(previousPolicy, fixture.policy, fixture.points, fixture.now);
      expect(preview.newlyDeleted.map((d) => d.id)).toEqual(newlyDeleted);
      expect(toJson(preview.plan)).toEqual(fixture.expected);
    });
  }
});
