// Segmented disk backups (shared/vault/diskSegments.ts) of a disk read through a DiskReader and
// restored through a DiskWriter, on the memory store: byte-exact round trips at the block
// boundaries, sparse and seeded random disks, full then incremental (tracked and 'unknown'),
// idempotent segments and commits, a reader killed mid-segment, a missing segment, restores in
// pieces, and prune's handling of sessions. Every mutating test ends with the checker.
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { seededRandom } from '../../shared/blob/seededRandom';
import type { ByteRange, DiskReader } from '../../shared/vault/backupSource';
import {
  backupDiskSegment,
  commitDiskBackup,
  planDiskBackup,
  type DiskBackupPlan,
  type PlanDiskBackupInput,
} from '../../shared/vault/diskSegments';
import { executePrune, prune } from '../../shared/vault/executePrune';
import { BLOCK_RECORD_OVERHEAD_BYTES } from '../../shared/vault/formatIds';
import { openVault } from '../../shared/vault/openVault';
import { GC_SAFETY_MARGIN_MS, planPrune, readVaultSnapshot } from '../../shared/vault/planPrune';
import { listPointIds, readPoint } from '../../shared/vault/recoveryPoint';
import { restore } from '../../shared/vault/restore';
import { restoreDisk, type DiskWriter } from '../../shared/vault/restoreDisk';
import { VAULT_KEYS, type Vault } from '../../shared/vault/vault';
import { VAULT_ERROR_CODES } from '../../shared/vault/vaultErrors';
import { readFile, writeFile } from 'node:fs/promises';
import { backup } from '../../shared/vault/backup';
import * as path from 'node:path';
import {
  BLOCK,
  KIB,
  MIB,
  expectVerifies,
  mixedImage,
  newVault,
  randomBytesSeeded,
  tempDir,
  withSeed,
} from './vaultTestUtils';

const RANDOM_SIZE_SEED = Number(process.env.VAULT_TEST_SEED ?? 20250611);

/** An in-memory disk: counts reads, and can be told to fail on a given read (a killed activity). */
class MemDisk implements DiskReader {
  reads = 0;
  bytes = 0;
  failOnRead: number | undefined;
  constructor(readonly image: Buffer) {}
  read(offset: number, length: number): Promise<Buffer> {
    this.reads += 1;
    if (this.failOnRead !== undefined && this.reads >= this.failOnRead)
      return Promise.reject(new Error(`disk read ${this.reads} killed`));
    if (offset < 0 || offset + length > this.image.length)
      return Promise.reject(new Error(`read [${offset}, +${length}) outside the disk`));
    this.bytes += length;
    return Promise.resolve(Buffer.from(this.image.subarray(offset, offset + length)));
  }
}

/** A pre-zeroed target that refuses writes outside `allowed` and overlapping writes. */
class MemTarget implements DiskWriter {
  readonly data: Buffer;
  writes = 0;
  private readonly written: ByteRange[] = [];
  constructor(
    size: number,
    private readonly allowed: ByteRange = { offset: 0, length: size },
  ) {
    this.data = Buffer.alloc(size);
  }
  async write(offset: number, data: Buffer): Promise<void> {
    await new Promise((r) => setImmediate(r)); // let writes overlap in time
    const end = offset + data.length;
    if (offset < this.allowed.offset || end > this.allowed.offset + this.allowed.length)
      throw new Error(`write [${offset}, ${end}) outside the allowed range`);
    if (this.written.some((w) => offset < w.offset + w.length && w.offset < end))
      throw new Error(`write [${offset}, ${end}) overlaps an earlier write`);
    if (data.length > 4 * MIB) throw new Error(`write of ${data.length} bytes is over 4 MiB`);
    this.written.push({ offset, length: data.length });
    data.copy(this.data, offset);
    this.writes += 1;
  }
}

async function runPlan(vault: Vault, plan: DiskBackupPlan, disk: DiskReader): Promise<string> {
  for (const s of plan.segments) await backupDiskSegment(vault, plan, s.index, disk);
  return (await commitDiskBackup(vault, plan)).pointId;
}

async function backupDisk(
  vault: Vault,
  image: Buffer,
  input: Partial<PlanDiskBackupInput> = {},
): Promise<{ plan: DiskBackupPlan; pointId: string; disk: MemDisk }> {
  const disk = new MemDisk(image);
  const plan = await planDiskBackup(vault, {
    planId: `plan-${Math.random()}`,
    diskName: 'os-disk',
    sizeBytes: image.length,
    ranges: [{ offset: 0, length: image.length }],
    ...input,
  });
  return { plan, pointId: await runPlan(vault, plan, disk), disk };
}

async function restored(vault: Vault, pointId: string, size: number): Promise<Buffer> {
  const target = new MemTarget(size);
  const r = await restoreDisk(vault, pointId, target);
  expect(r.sizeBytes).toBe(size);
  return target.data;
}

function expectSameBytes(actual: Buffer, expected: Buffer): void {
  if (actual.equals(expected)) return;
  let at = 0;
  while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at += 1;
  throw new Error(`${actual.length} bytes vs expected ${expected.length}; first difference at ${at}`);
}

describe('segmented disk backup: round trips', () => {
  const cases: [string, () => Buffer][] = [
    ['empty', () => Buffer.alloc(0)],
    ['1 byte', () => Buffer.from([0x5a])],
    ['exactly one block', () => randomBytesSeeded(BLOCK, 'one')],
    ['one block + 1 byte', () => randomBytesSeeded(BLOCK + 1, 'one-plus')],
    ['one block of zeros', () => Buffer.alloc(BLOCK)],
  ];
  test.each(cases)('%s', async (_label, make) => {
    const { vault } = await newVault();
    const image = make();
    const { plan, pointId, disk } = await backupDisk(vault, image, { maxSegmentBytes: BLOCK });
    expect(plan.segments.length).toBe(Math.ceil(image.length / BLOCK));
    expect(disk.bytes).toBe(image.length);
    expectSameBytes(await restored(vault, pointId, image.length), image);
    const point = await readPoint(vault, pointId);
    expect(point.source).toEqual({ kind: 'disk', name: 'os-disk', sizeBytes: image.length });
    await expectVerifies(vault);
  });

  test('sparse disk: only the written ranges are read; the rest is unwritten and never written back', async () => {
    const { vault } = await newVault();
    const image = Buffer.alloc(16 * MIB);
    const written: ByteRange[] = [
      { offset: 0, length: 3 * BLOCK },
      { offset: 5 * MIB + 512, length: 1000 },
      { offset: 9 * MIB, length: 2 * BLOCK }, // written, but zeros: recorded as zero blocks
      { offset: image.length - BLOCK, length: BLOCK },
    ];
    randomBytesSeeded(3 * BLOCK, 'head').copy(image, 0);
    randomBytesSeeded(1000, 'mid').copy(image, 5 * MIB + 512);
    randomBytesSeeded(BLOCK, 'tail').copy(image, image.length - BLOCK);
    const { plan, pointId, disk } = await backupDisk(vault, image, {
      ranges: written,
      maxSegmentBytes: 2 * BLOCK,
    });
    expect(plan.full).toBe(true);
    expect(disk.bytes).toBe(7 * BLOCK);
    const point = await readPoint(vault, pointId);
    expect(point.totals).toMatchObject({ blocksNew: 5, blocksZero: 2, bytesRead: 7 * BLOCK });
    const target = new MemTarget(image.length);
    const r = await restoreDisk(vault, pointId, target);
    expect(r.bytesWritten).toBe(5 * BLOCK);
    expectSameBytes(target.data, image);
    // The same point restores to a file through restore() (a sparse file).
    const out = path.join(tempDir('seg'), 'disk.img');
    await restore(vault, pointId, out);
    expectSameBytes(await readFile(out), image);
    await expectVerifies(vault);
  });

  test('random sizes, random segment sizes, mixed content (seeded)', async () => {
    await withSeed(RANDOM_SIZE_SEED, async () => {
      const rnd = seededRandom(RANDOM_SIZE_SEED);
      const { vault } = await newVault(new MemBlobStore(), { packTargetBytes: 512 * KIB });
      for (let i = 0; i < 5; i += 1) {
        const size = Math.floor(rnd() * 6 * MIB);
        const image = mixedImage(size, RANDOM_SIZE_SEED + i, 32 * KIB);
        const { pointId } = await backupDisk(vault, image, {
          ranges: rnd() < 0.5 ? 'unknown' : [{ offset: 0, length: size }],
          maxSegmentBytes: Math.max(1, Math.floor(rnd() * 2 * MIB)),
        });
        expectSameBytes(await restored(vault, pointId, size), image);
      }
      await expectVerifies(vault);
    });
  });

  test('segments of one plan run concurrently on one Vault object', async () => {
    const { vault } = await newVault(new MemBlobStore(), { packTargetBytes: 256 * KIB });
    const image = mixedImage(6 * MIB, 77, 64 * KIB);
    const disk = new MemDisk(image);
    const plan = await planDiskBackup(vault, {
      planId: 'concurrent',
      diskName: 'd',
      sizeBytes: image.length,
      ranges: 'unknown',
      maxSegmentBytes: MIB,
    });
    await Promise.all(plan.segments.map((s) => backupDiskSegment(vault, plan, s.index, disk)));
    const { pointId } = await commitDiskBackup(vault, plan);
    expectSameBytes(await restored(vault, pointId, image.length), image);
    await expectVerifies(vault);
  });
});

describe('segmented disk backup: incrementals', () => {
  /** `count` random 64 KiB writes at 4 KiB-aligned offsets: the ranges written. */
  function scatterWrites(image: Buffer, count: number, seed: number): ByteRange[] {
    const rnd = seededRandom(seed);
    const ranges: ByteRange[] = [];
    for (let i = 0; i < count; i += 1) {
      const offset = Math.floor(rnd() * ((image.length - BLOCK) / (4 * KIB))) * 4 * KIB;
      randomBytesSeeded(BLOCK, `w${seed}-${i}`).copy(image, offset);
      ranges.push({ offset, length: BLOCK });
    }
    return ranges;
  }

  test('full, then incremental with changed ranges: reads and stores only around the changes', async () => {
    await withSeed(RANDOM_SIZE_SEED, async () => {
      const { vault } = await newVault();
      const image = mixedImage(32 * MIB, 5, 64 * KIB);
      const first = await backupDisk(vault, image, { maxSegmentBytes: 8 * MIB });
      const before = Buffer.from(image);
      const changed = scatterWrites(image, 5, RANDOM_SIZE_SEED); // ~1% of the disk
      const changedBytes = changed.reduce((n, r) => n + r.length, 0);
      const second = await backupDisk(vault, image, {
        parentPointId: first.pointId,
        ranges: changed,
        maxSegmentBytes: 8 * MIB,
      });
      expect(second.plan.full).toBe(false);
      const totals = (await readPoint(vault, second.pointId)).totals;
      // Each 64 KiB write touches at most two blocks; gaps under 128 KiB are read along.
      expect(second.disk.bytes).toBeLessThanOrEqual(changed.length * 4 * BLOCK);
      expect(totals.bytesNewStored).toBeLessThanOrEqual(
        2 * changedBytes + totals.blocksNew * BLOCK_RECORD_OVERHEAD_BYTES,
      );
      expect(totals.bytesNewStored).toBeLessThan(2.01 * changedBytes);
      expectSameBytes(await restored(vault, second.pointId, image.length), image);
      expectSameBytes(await restored(vault, first.pointId, image.length), before);
      expect((await readPoint(vault, second.pointId)).parentId).toBe(first.pointId);
      await expectVerifies(vault);
    });
  });

  test("'unknown' ranges with a parent: everything is read, only changed blocks are stored", async () => {
    const { vault } = await newVault();
    const image = mixedImage(8 * MIB, 6, 64 * KIB);
    const first = await backupDisk(vault, image, { maxSegmentBytes: 2 * MIB });
    const changed = scatterWrites(image, 3, 99);
    const second = await backupDisk(vault, image, {
      parentPointId: first.pointId,
      ranges: 'unknown',
      maxSegmentBytes: 2 * MIB,
    });
    expect(second.plan.full).toBe(true);
    expect(second.disk.bytes).toBe(image.length);
    const totals = (await readPoint(vault, second.pointId)).totals;
    expect(totals.blocksNew).toBeLessThanOrEqual(2 * changed.length);
    expect(totals.bytesNewStored).toBeLessThanOrEqual(
      2 * changed.length * (BLOCK + BLOCK_RECORD_OVERHEAD_BYTES),
    );
    expectSameBytes(await restored(vault, second.pointId, image.length), image);
    await expectVerifies(vault);
  });

  test('a parent block no longer in the index is read again, not copied', async () => {
    const { vault, store, provider } = await newVault();
    const image = mixedImage(4 * MIB, 8, 64 * KIB);
    const first = await backupDisk(vault, image, { maxSegmentBytes: MIB });
    // Forget every index blob (as if pruned): nothing of the parent can be copied.
    for await (const { key } of store.list(VAULT_KEYS.INDEX_PREFIX)) await store.delete(key);
    const reopened = await openVault(store, provider);
    const second = await backupDisk(reopened, image, {
      parentPointId: first.pointId,
      ranges: [],
      maxSegmentBytes: MIB,
    });
    expect(second.disk.bytes).toBeGreaterThan(0);
    expectSameBytes(await restored(reopened, second.pointId, image.length), image);
    await expectVerifies(reopened);
  });
});

describe('segmented disk backup: idempotence and failures', () => {
  test('a saved segment is not read again; planning again returns the same plan', async () => {
    const { vault } = await newVault();
    const image = mixedImage(3 * MIB, 11, 64 * KIB);
    const disk = new MemDisk(image);
    const input: PlanDiskBackupInput = {
      planId: 'job-1/disk-0',
      diskName: 'os',
      sizeBytes: image.length,
      ranges: 'unknown',
      maxSegmentBytes: MIB,
    };
    const plan = await planDiskBackup(vault, input);
    expect(await planDiskBackup(vault, input)).toEqual(plan);
    // The plan crosses the Durable boundary as JSON.
    const wire = JSON.parse(JSON.stringify(plan)) as DiskBackupPlan;
    const first = await backupDiskSegment(vault, wire, 1, disk);
    const reads = disk.reads;
    const again = await backupDiskSegment(vault, wire, 1, disk);
    expect(disk.reads).toBe(reads);
    expect(again).toEqual({ ...first, reused: true });
    await expect(planDiskBackup(vault, { ...input, sizeBytes: image.length + 1 })).rejects.toMatchObject({
      code: VAULT_ERROR_CODES.PLAN_CONFLICT,
    });
    const edited: DiskBackupPlan = { ...plan, diskName: 'other' };
    await expect(backupDiskSegment(vault, edited, 1, disk)).rejects.toMatchObject({
      code: VAULT_ERROR_CODES.PLAN_CONFLICT,
    });
  });

  test('commit twice: one point, the same id; segments re-run after the commit read nothing', async () => {
    const { vault, store } = await newVault();
    const image = mixedImage(3 * MIB, 12, 64 * KIB);
    const disk = new MemDisk(image);
    const plan = await planDiskBackup(vault, {
      planId: 'twice',
      diskName: 'os',
      sizeBytes: image.length,
      ranges: 'unknown',
      maxSegmentBytes: MIB,
    });
    for (const s of plan.segments) await backupDiskSegment(vault, plan, s.index, disk);
    const a = await commitDiskBackup(vault, plan, { meta: { vm: 'vm-1' } });
    const b = await commitDiskBackup(vault, plan);
    const [c, d] = await Promise.all([commitDiskBackup(vault, plan), commitDiskBackup(vault, plan)]);
    expect([b.pointId, c.pointId, d.pointId]).toEqual([a.pointId, a.pointId, a.pointId]);
    expect(b.bytesNewStored).toBe(a.bytesNewStored);
    expect(b.alreadyCommitted).toBe(true);
    expect(await listPointIds(vault)).toEqual([a.pointId]);
    expect((await readPoint(vault, a.pointId)).meta).toEqual({ vm: 'vm-1' });
    // The segment objects are gone; the plan and the commit record stay until prune.
    const keys: string[] = [];
    for await (const { key } of store.list(VAULT_KEYS.SESSIONS_PREFIX)) keys.push(key);
    expect(keys.map((k) => k.split('/')[2]).sort()).toEqual(['committed', 'plan']);
    const reads = disk.reads;
    const rerun = await backupDiskSegment(vault, plan, 0, disk);
    expect(rerun.reused).toBe(true);
    expect(disk.reads).toBe(reads);
    // Planning the same id again gives the same plan, and committing it the same point.
    const replanned = await planDiskBackup(vault, {
      planId: 'twice',
      diskName: 'os',
      sizeBytes: image.length,
      ranges: 'unknown',
      maxSegmentBytes: MIB,
    });
    expect((await commitDiskBackup(vault, replanned)).pointId).toBe(a.pointId);
    expect(await listPointIds(vault)).toEqual([a.pointId]);
    await expectVerifies(vault);
  });

  test.each([2, 4, 7])(
    'a reader killed at read %i: the re-run reuses committed packs, verifies, restores',
    async (killAt) => {
      const store = new MemBlobStore();
      const { vault, provider } = await newVault(store, { packTargetBytes: 256 * KIB, compression: 'off' });
      const image = randomBytesSeeded(40 * MIB, `kill-${killAt}`);
      const plan = await planDiskBackup(vault, {
        planId: `kill-${killAt}`,
        diskName: 'data',
        sizeBytes: image.length,
        ranges: 'unknown',
      });
      expect(plan.segments).toHaveLength(1);
      const dying = new MemDisk(image);
      dying.failOnRead = killAt;
      await expect(backupDiskSegment(vault, plan, 0, dying)).rejects.toThrow(/killed/);
      // The activity is retried in a fresh process: a new Vault object on the same store.
      const fresh = await openVault(store, provider);
      const rerun = await backupDiskSegment(fresh, plan, 0, new MemDisk(image));
      const full = image.length / BLOCK;
      expect(rerun.reused).toBeUndefined();
      expect(rerun.blocksNew + rerun.blocksDedup).toBe(full);
      if (killAt > 4) expect(rerun.blocksNew).toBeLessThan(full); // committed packs were adopted
      const { pointId } = await commitDiskBackup(fresh, plan);
      await expectVerifies(fresh);
      expectSameBytes(await restored(fresh, pointId, image.length), image);
    },
  );

  test('commit with a missing segment fails with VAULT.SEGMENT_MISSING and writes no point', async () => {
    const { vault } = await newVault();
    const image = mixedImage(3 * MIB, 13, 64 * KIB);
    const disk = new MemDisk(image);
    const plan = await planDiskBackup(vault, {
      planId: 'missing',
      diskName: 'os',
      sizeBytes: image.length,
      ranges: 'unknown',
      maxSegmentBytes: MIB,
    });
    await backupDiskSegment(vault, plan, 0, disk);
    await backupDiskSegment(vault, plan, 2, disk);
    await expect(commitDiskBackup(vault, plan)).rejects.toMatchObject({
      code: VAULT_ERROR_CODES.SEGMENT_MISSING,
      details: { planId: 'missing', segments: [1] },
    });
    expect(await listPointIds(vault)).toEqual([]);
    await backupDiskSegment(vault, plan, 1, disk);
    const { pointId } = await commitDiskBackup(vault, plan);
    expectSameBytes(await restored(vault, pointId, image.length), image);
    await expectVerifies(vault);
  });

  test('a segment index outside the plan is refused', async () => {
    const { vault } = await newVault();
    const plan = await planDiskBackup(vault, {
      planId: 'p',
      diskName: 'd',
      sizeBytes: BLOCK,
      ranges: 'unknown',
    });
    await expect(backupDiskSegment(vault, plan, 1, new MemDisk(Buffer.alloc(BLOCK)))).rejects.toMatchObject({
      code: VAULT_ERROR_CODES.INVALID_ARGUMENT,
    });
  });
});

describe('restoreDisk', () => {
  test('in pieces (aligned and not), each writing only inside its range', async () => {
    const { vault } = await newVault();
    const image = mixedImage(5 * MIB + 4321, 21, 64 * KIB);
    const { pointId } = await backupDisk(vault, image, { maxSegmentBytes: 2 * MIB });
    const cuts = [0, 2 * MIB, 2 * MIB + 777, 3 * MIB + BLOCK + 1, image.length];
    const whole = Buffer.alloc(image.length);
    for (let i = 0; i + 1 < cuts.length; i += 1) {
      const range = { offset: cuts[i]!, length: cuts[i + 1]! - cuts[i]! };
      const target = new MemTarget(image.length, range);
      const r = await restoreDisk(vault, pointId, target, { range });
      expect(r.bytesWritten).toBeLessThanOrEqual(range.length);
      target.data.copy(whole, range.offset, range.offset, range.offset + range.length);
    }
    expectSameBytes(whole, image);
    await expect(
      restoreDisk(vault, pointId, new MemTarget(image.length), {
        range: { offset: 1, length: image.length },
      }),
    ).rejects.toMatchObject({ code: VAULT_ERROR_CODES.INVALID_ARGUMENT });
  });

  test('a failing writer fails the restore', async () => {
    const { vault } = await newVault();
    const image = mixedImage(2 * MIB, 22, 64 * KIB);
    const { pointId } = await backupDisk(vault, image);
    let calls = 0;
    const writer: DiskWriter = {
      write: () => (++calls === 2 ? Promise.reject(new Error('target gone')) : Promise.resolve()),
    };
    await expect(restoreDisk(vault, pointId, writer)).rejects.toThrow('target gone');
  });

  test('a disk image point (backup of a file) restores through a DiskWriter too', async () => {
    const { vault } = await newVault();
    const image = mixedImage(MIB + 3, 23, 64 * KIB);
    const src = path.join(tempDir('seg'), 'disk.img');
    await writeFile(src, image);
    const { pointId } = await backup(vault, { kind: 'diskImage', path: src });
    expectSameBytes(await restored(vault, pointId, image.length), image);
  });
});

describe('prune and disk backup sessions', () => {
  test('a session in flight survives prune; stale sessions are deleted past the margin', async () => {
    const { vault, store } = await newVault();
    const image = mixedImage(3 * MIB, 31, 64 * KIB);
    const disk = new MemDisk(image);
    const plan = await planDiskBackup(vault, {
      planId: 'in-flight',
      diskName: 'os',
      sizeBytes: image.length,
      ranges: 'unknown',
      maxSegmentBytes: MIB,
    });
    await backupDiskSegment(vault, plan, 0, disk);
    // A prune now (nothing to delete, the session is young) leaves everything the commit needs.
    const { plan: p1, result: r1 } = await prune(vault, { deletePoints: [], graceMs: 0 });
    expect(p1.staleSessions).toEqual([]);
    expect(r1.sessionsDeleted).toBe(0);
    for (const s of plan.segments.slice(1)) await backupDiskSegment(vault, plan, s.index, disk);
    const { pointId } = await commitDiskBackup(vault, plan);
    // A second, abandoned session.
    const abandoned = await planDiskBackup(vault, {
      planId: 'abandoned',
      diskName: 'os',
      sizeBytes: image.length,
      ranges: 'unknown',
      maxSegmentBytes: MIB,
    });
    await backupDiskSegment(vault, abandoned, 0, disk);
    const later = Date.now() + GC_SAFETY_MARGIN_MS + 1000;
    const p2 = planPrune(await readVaultSnapshot(vault), { deletePoints: [], nowMs: later });
    expect(p2.staleSessions.map((s) => s.objects).sort()).toEqual([2, 2]);
    const r2 = await executePrune(vault, p2, { graceMs: 0 });
    expect(r2.sessionsDeleted).toBe(2);
    const left: string[] = [];
    for await (const { key } of store.list(VAULT_KEYS.SESSIONS_PREFIX)) left.push(key);
    expect(left).toEqual([]);
    expectSameBytes(await restored(vault, pointId, image.length), image);
    await expectVerifies(vault);
  });

  test('blocks a segment deduplicated against, pruned before the commit: VAULT.CONCURRENT_PRUNE, no point', async () => {
    const { vault, store, provider } = await newVault();
    const image = mixedImage(2 * MIB, 32, 64 * KIB);
    const src = path.join(tempDir('seg'), 'old.img');
    await writeFile(src, image);
    // An old point whose packs are past the margin.
    const old = await backup(
      vault,
      { kind: 'diskImage', path: src },
      {
        now: () => new Date(Date.now() - 2 * GC_SAFETY_MARGIN_MS),
      },
    );
    const plan = await planDiskBackup(vault, {
      planId: 'raced',
      diskName: 'os',
      sizeBytes: image.length,
      ranges: 'unknown',
    });
    const seg = await backupDiskSegment(vault, plan, 0, new MemDisk(image));
    expect(seg.blocksNew).toBe(0); // everything deduplicated against the old point's packs
    const pruner = await openVault(store, provider);
    const { result } = await prune(pruner, { deletePoints: [old.pointId], graceMs: 0 });
    expect(result.packsDeleted).toBeGreaterThan(0);
    await expect(commitDiskBackup(vault, plan)).rejects.toMatchObject({
      code: VAULT_ERROR_CODES.CONCURRENT_PRUNE,
    });
    expect(await listPointIds(vault)).toEqual([]);
    // Planning again under a new id reads and stores the disk again.
    const again = await backupDisk(vault, image, { ranges: 'unknown' });
    expectSameBytes(await restored(vault, again.pointId, image.length), image);
    await expectVerifies(vault);
  });
});
