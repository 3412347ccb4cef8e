// Loads a golden retention fixture (test/fixtures/retention/*.json) into typed values. A fixture is
// { description, policy, previousPolicy?, now, points, pointSeries?, expected }, where `expected` holds the
// plan written out by hand ({ keep, delete }), optionally with `newlyDeleted` ids for a policy change, and,
// for fixtures too large to list (the 9,999-point cap), series that expand to consecutive ids.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { validatePolicy, type Policy } from '../../shared/policy/policy';
import { RETENTION_REASONS, type RecoveryPointRef } from '../../shared/policy/retention';

const MS_PER_DAY = 86_400_000;
const instant = z.iso.datetime().transform((s) => new Date(s));
const reason = z.enum(RETENTION_REASONS);
const deletionReason = z.enum(['expired', 'overCap']);

const series = { idPrefix: z.string(), digits: z.int().min(1) };
const FixtureSchema = z.strictObject({
  description: z.array(z.string()).min(1),
  policy: z.unknown(),
  previousPolicy: z.unknown().optional(),
  now: instant,
  points: z.array(
    z.strictObject({
      id: z.string(),
      time: instant,
      kind: z.enum(['scheduled', 'adhoc']),
      retainUntil: instant.optional(),
    }),
  ),
  pointSeries: z
    .array(
      z.strictObject({
        ...series,
        count: z.int().min(1),
        firstTime: instant,
        stepDays: z.int().min(1),
        kind: z.enum(['scheduled', 'adhoc']),
      }),
    )
    .optional(),
  expected: z.strictObject({
    keep: z.array(z.strictObject({ id: z.string(), reasons: z.array(reason), expiresAt: z.iso.datetime() })),
    delete: z.array(z.strictObject({ id: z.string(), reason: deletionReason })),
    newlyDeleted: z.array(z.string()).optional(),
    keepSeries: z
      .array(
        z.strictObject({
          ...series,
          from: z.int().min(0),
          to: z.int().min(0),
          reasons: z.array(reason),
          firstExpiresAt: instant,
          stepDays: z.int().min(1),
        }),
      )
      .optional(),
    deleteSeries: z
      .array(z.strictObject({ ...series, from: z.int().min(0), to: z.int().min(0), reason: deletionReason }))
      .optional(),
  }),
});

/** A plan in the fixture's JSON shape, so a mismatch diffs readably. */
export interface JsonPlan {
  keep: { id: string; reasons: string[]; expiresAt: string }[];
  delete: { id: string; reason: string }[];
}

export interface RetentionFixture {
  readonly name: string;
  readonly title: string;
  readonly policy: Policy;
  readonly previousPolicy?: Policy;
  readonly now: Date;
  readonly points: RecoveryPointRef[];
  readonly expected: JsonPlan;
  readonly newlyDeleted?: string[];
}

function seriesId(prefix: string, digits: number, index: number): string {
  return `${prefix}${String(index).padStart(digits, '0')}`;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function validPolicy(input: unknown, name: string): Policy {
  const result = validatePolicy(input);
  if (!result.ok)
    throw new Error(`${name}: invalid policy: ${result.issues.map((i) => i.message).join('; ')}`);
  return result.policy;
}

export function loadRetentionFixture(file: string): RetentionFixture {
  const name = file.replace(/^.*[\\/]/, '');
  const raw = FixtureSchema.parse(JSON.parse(readFileSync(file, 'utf8')));

  const points: RecoveryPointRef[] = [...raw.points];
  for (const s of raw.pointSeries ?? []) {
    for (const i of range(0, s.count - 1)) {
      points.push({
        id: seriesId(s.idPrefix, s.digits, i),
        time: new Date(s.firstTime.getTime() + i * s.stepDays * MS_PER_DAY),
        kind: s.kind,
      });
    }
  }

  const keep = [...raw.expected.keep];
  for (const s of raw.expected.keepSeries ?? []) {
    for (const i of range(s.from, s.to)) {
      const expiresAt = new Date(s.firstExpiresAt.getTime() + (i - s.from) * s.stepDays * MS_PER_DAY);
      keep.push({
        id: seriesId(s.idPrefix, s.digits, i),
        reasons: s.reasons,
        expiresAt: expiresAt.toISOString(),
      });
    }
  }
  const del = [...raw.expected.delete];
  for (const s of raw.expected.deleteSeries ?? []) {
    for (const i of range(s.from, s.to))
      del.push({ id: seriesId(s.idPrefix, s.digits, i), reason: s.reason });
  }

  // The planner orders both lists by point time, then id; series entries are merged into that order.
  const timeOf = new Map(points.map((p) => [p.id, p.time.getTime()]));
  const order = (a: { id: string }, b: { id: string }): number =>
    (timeOf.get(a.id) ?? 0) - (timeOf.get(b.id) ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

  return {
    name,
    title: raw.description[0] ?? name,
    policy: validPolicy(raw.policy, name),
    ...(raw.previousPolicy === undefined ? {} : { previousPolicy: validPolicy(raw.previousPolicy, name) }),
    now: raw.now,
    points,
    expected: { keep: keep.sort(order), delete: del.sort(order) },
    ...(raw.expected.newlyDeleted === undefined ? {} : { newlyDeleted: raw.expected.newlyDeleted }),
  };
}
