// Pure parts of the fabric: ranges, page alignment, seeded content plans, agent versions.
import { clipRanges, isRangeInside, mergeRanges } from '../../shared/inventory/byteRanges';
import { compareAgentVersions, isAgentVersionSupported } from '../../shared/inventory/guestAgent';
import {
  CONTENT_GRAIN_BYTES,
  planDiskContent,
  planScatteredWrites,
  renderExtent,
  seededBytes,
} from '../../shared/fabric/diskContent';
import { UPLOAD_PAGES_MAX_BYTES } from '../../shared/fabric/fabricLimits';
import { alignSpan, splitRange } from '../../shared/fabric/pageAlignment';

test('mergeRanges sorts, merges touching and overlapping ranges, drops empty ones', () => {
  expect(mergeRanges([])).toEqual([]);
  expect(
    mergeRanges([
      { offset: 10, length: 5 },
      { offset: 0, length: 10 },
      { offset: 20, length: 0 },
      { offset: 12, length: 1 },
      { offset: 30, length: 2 },
    ]),
  ).toEqual([
    { offset: 0, length: 15 },
    { offset: 30, length: 2 },
  ]);
  expect(
    clipRanges(
      [
        { offset: 90, length: 20 },
        { offset: 200, length: 1 },
      ],
      100,
    ),
  ).toEqual([{ offset: 90, length: 10 }]);
  expect(isRangeInside(100, 0, 100)).toBe(true);
  expect(isRangeInside(100, 1, 100)).toBe(false);
  expect(isRangeInside(0.5, 1, 100)).toBe(false);
});

test('alignSpan widens to 512-byte pages; splitRange keeps Put Page at 4 MiB', () => {
  expect(alignSpan(0, 512)).toEqual({ start: 0, end: 512, headPartial: false, tailPartial: false });
  expect(alignSpan(700, 1000)).toEqual({ start: 512, end: 2048, headPartial: true, tailPartial: true });
  expect(alignSpan(512, 1)).toEqual({ start: 512, end: 1024, headPartial: false, tailPartial: true });
  expect(splitRange(0, UPLOAD_PAGES_MAX_BYTES)).toEqual([{ offset: 0, length: UPLOAD_PAGES_MAX_BYTES }]);
  expect(splitRange(512, UPLOAD_PAGES_MAX_BYTES + 512)).toEqual([
    { offset: 512, length: UPLOAD_PAGES_MAX_BYTES },
    { offset: 512 + UPLOAD_PAGES_MAX_BYTES, length: 512 },
  ]);
});

test('disk content plan: deterministic, aligned, in bounds, a mix of kinds with gaps', () => {
  const size = 16 * 1024 * 1024;
  const plan = planDiskContent(size, 42);
  expect(planDiskContent(size, 42)).toEqual(plan);
  expect(planDiskContent(size, 43)).not.toEqual(plan);
  let end = 0;
  for (const e of plan) {
    expect(e.offset % CONTENT_GRAIN_BYTES).toBe(0);
    expect(e.offset).toBeGreaterThanOrEqual(end);
    end = e.offset + e.length;
  }
  expect(end).toBeLessThanOrEqual(size);
  const kinds = new Set(plan.map((e) => e.kind));
  expect(kinds).toEqual(new Set(['random', 'text', 'zero']));
  const written = plan.reduce((n, e) => n + e.length, 0);
  expect(written / size).toBeGreaterThan(0.45);
  expect(written / size).toBeLessThan(0.85);
  const text = plan.find((e) => e.kind === 'text')!;
  expect(renderExtent(text, 1).toString('latin1')).toMatch(/^[a-z \n]+$/);
  expect(seededBytes(1, 'a', 64).equals(seededBytes(1, 'a', 64))).toBe(true);
});

test('scattered writes: exact count, distinct, aligned; boundaries', () => {
  const size = 4 * 1024 * 1024;
  const block = 64 * 1024;
  const offs = planScatteredWrites(size, 10, block, 5);
  expect(offs).toHaveLength(6); // round(6.4)
  expect(new Set(offs).size).toBe(offs.length);
  expect(offs.every((o) => o % block === 0 && o + block <= size)).toBe(true);
  expect(planScatteredWrites(size, 0, block, 5)).toEqual([]);
  expect(planScatteredWrites(size, 0.0001, block, 5)).toHaveLength(1);
  expect(planScatteredWrites(size, 100, block, 5)).toHaveLength(64);
  expect(() => planScatteredWrites(size, 101, block, 5)).toThrow(RangeError);
  expect(() => planScatteredWrites(size, 1, 1000, 5)).toThrow(RangeError);
  // Sparse path on a large disk: memory in proportion to the count.
  expect(planScatteredWrites(8 * 1024 ** 4, 0.000001, block, 1)).toHaveLength(1);
});

test('agent versions compare numerically', () => {
  expect(compareAgentVersions('2.10.0', '2.9.9')).toBeGreaterThan(0);
  expect(compareAgentVersions('2.2', '2.2.0.0')).toBe(0);
  expect(isAgentVersionSupported('2.2.10')).toBe(false);
  expect(isAgentVersionSupported('2.12.0.4')).toBe(true);
  expect(isAgentVersionSupported(undefined)).toBe(false);
});
