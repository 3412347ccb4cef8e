// Incrementals without change tracking (read and hash everything, upload only blocks the index
// lacks), dedup of an unchanged image, change tracking through the ChangedRanges port, and a
// backup interrupted mid-way that is simply run again.
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { FaultyBlobStore } from '../../shared/blob/faultyBlobStore';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { seededRandom } from '../../shared/blob/seededRandom';
import { backup } from '../../shared/vault/backup';
import type { ByteRange, ChangedRanges } from '../../shared/vault/backupSource';
import { openVault } from '../../shared/vault/openVault';
import type { Progress } from '../../shared/vault/progress';
import { listPointIds } from '../../shared/vault/recoveryPoint';
import { restore } from '../../shared/vault/restore';
import {
  BLOCK,
  KIB,
  MIB,
  STORES,
  expectSameFile,
  expectVerifies,
  newVault,
  randomBytesSeeded,
  tempDir,
  withSeed,
  writeImage,
} from './vaultTestUtils';

const SEED = Number(process.env.VAULT_TEST_SEED ?? 4242);
const IMAGE_BYTES = 32 * MIB;
const WRITE_BYTES = 64 * KIB;

/** 1% of the image as random-content 64 KiB writes at random, non-overlapping, 4 KiB-aligned offsets. */
function scatterWrites(image: Buffer, seed: number): ByteRange[] {
  const rnd = seededRandom(seed);
  const count = Math.round((image.length * 0.01) / WRITE_BYTES);
  const ranges: ByteRange[] = [];
  while (ranges.length < count) {
    const offset = Math.floor(rnd() * ((image.length - WRITE_BYTES) / 4096)) * 4096;
    if (ranges.some((r) => offset < r.offset + r.length && r.offset < offset + WRITE_BYTES)) continue;
    randomBytesSeeded(WRITE_BYTES, `w-${seed}-${ranges.length}`).copy(image, offset);
    ranges.push({ offset, length: WRITE_BYTES });
  }
  return ranges;
}

describe.each(STORES)('incremental and dedup ($name store)', ({ make }) => {
  test('1% scattered change, no change tracking: new data < 2× the change; both points restore exactly', async () => {
    await withSeed(SEED, async () => {
      const { vault } = await newVault(make(), { compression: 'off' });
      const dir = tempDir('incr');
      const base = randomBytesSeeded(IMAGE_BYTES, `base-${SEED}`);
      const src = await writeImage(dir, 'disk.img', base);
      const first = await backup(vault, { kind: 'diskImage', path: src });
      expect(first.blocksNew).toBe(IMAGE_BYTES / BLOCK);

      const changed = Buffer.from(base);
      const ranges = scatterWrites(changed, SEED);
      const changedBytes = ranges.reduce((n, r) => n + r.length, 0);
      await writeFile(src, changed);
      const second = await backup(vault, { kind: 'diskImage', path: src }, { parentPointId: first.pointId });

      expect(second.bytesRead).toBe(IMAGE_BYTES);
      // Each 64 KiB write touches at most 2 blocks, so new plaintext is at most 2× the change; a
      // write that happens to be block-aligned touches one (performance.md §2 measured 1.9×).
      expect(second.blocksNew * BLOCK).toBeLessThanOrEqual(2 * changedBytes);
      // Stored bytes add 33 bytes per record and one pack header: < 0.1%.
      expect(second.bytesNewStored).toBeLessThan(second.blocksNew * BLOCK * 1.001);
      const ratio = second.bytesNewStored / changedBytes;
      expect(ratio).toBeLessThan(2.002);

      const out1 = path.join(dir, 'p1.img');
      const out2 = path.join(dir, 'p2.img');
      await restore(vault, first.pointId, out1);
      await restore(vault, second.pointId, out2);
      await expectSameFile(out1, base);
      await expectSameFile(out2, changed);
      await expectVerifies(vault);
    });
  });

  test('backing up the same image twice stores nothing new', async () => {
    const { vault, provider } = await newVault(make());
    const dir = tempDir('dedup');
    const image = randomBytesSeeded(3 * MIB + 17, 'dedup');
    const src = await writeImage(dir, 'disk.img', image);
    const first = await backup(vault, { kind: 'diskImage', path: src });
    const second = await backup(vault, { kind: 'diskImage', path: src }, { parentPointId: first.pointId });
    expect(second).toMatchObject({ blocksNew: 0, bytesNewStored: 0, packsWritten: 0, indexesWritten: 0 });
    expect(second.blocksDedup).toBe(first.blocksNew);
    // A reopened vault dedups from the stored index too.
    const reopened = await openVault(vault.store, provider);
    const third = await backup(reopened, { kind: 'diskImage', path: src });
    expect(third.blocksNew).toBe(0);
    await expectVerifies(reopened);
  });
});

/** A change tracker that knows exactly what the test wrote (a stand-in for page-blob diffs). */
class ScriptedChangedRanges implements ChangedRanges {
  calls: (string | undefined)[] = [];
  constructor(private readonly answers: ByteRange[][]) {}
  changedRanges(
    _source: unknown,
    sinceToken: string | undefined,
  ): Promise<{ ranges: ByteRange[]; token: string }> {
    this.calls.push(sinceToken);
    const ranges = this.answers[this.calls.length - 1] ?? [];
    return Promise.resolve({ ranges, token: `t${this.calls.length}` });
  }
}

describe('change tracking and resumption (mem store)', () => {
  test('with changed ranges, only changed blocks are read; unwritten ranges restore as zeros', async () => {
    await withSeed(SEED, async () => {
      const { vault } = await newVault(new MemBlobStore());
      const dir = tempDir('cbt');
      const image = Buffer.alloc(8 * MIB);
      randomBytesSeeded(2 * MIB, 'cbt').copy(image, MIB);
      const src = await writeImage(dir, 'disk.img', image);
      const tracker = new ScriptedChangedRanges([[{ offset: MIB, length: 2 * MIB }], []]);
      const first = await backup(vault, { kind: 'diskImage', path: src }, { changedRanges: tracker });
      expect(first.bytesRead).toBe(2 * MIB);

      const changed = Buffer.from(image);
      const ranges = scatterWrites(changed, SEED).slice(0, 3);
      await writeFile(src, changed);
      tracker['answers'][1] = ranges;
      const second = await backup(
        vault,
        { kind: 'diskImage', path: src },
        { parentPointId: first.pointId, changedRanges: tracker },
      );
      expect(tracker.calls).toEqual([undefined, 't1']);
      expect(second.bytesRead).toBeLessThanOrEqual(ranges.length * 2 * BLOCK);
      // Only the tracked writes were copied into the image, so restoring gives the changed image
      // wherever the writes landed inside the originally written range, and zeros elsewhere.
      const expected = Buffer.alloc(8 * MIB);
      image.copy(expected, MIB, MIB, 3 * MIB);
      for (const r of ranges) {
        const first64k = Math.floor(r.offset / BLOCK) * BLOCK;
        const end = Math.min(expected.length, Math.ceil((r.offset + r.length) / BLOCK) * BLOCK);
        changed.copy(expected, first64k, first64k, end);
      }
      const out = path.join(dir, 'p2.img');
      await restore(vault, second.pointId, out);
      await expectSameFile(out, expected);
      await expectVerifies(vault);
    });
  });

  test('a backup that dies mid-way leaves no point; running it again gives a vault that verifies and restores', async () => {
    const mem = new MemBlobStore();
    const faulty = new FaultyBlobStore(
      mem,
      [{ ops: ['writer.commit'], keyPattern: /^packs\//, nth: 3, fault: { kind: 'transient' } }],
      7,
    );
    const { vault, provider } = await newVault(faulty, { packTargetBytes: 256 * KIB, compression: 'off' });
    const dir = tempDir('crash');
    const image = randomBytesSeeded(4 * MIB, 'crash');
    const src = await writeImage(dir, 'disk.img', image);
    const progress: Progress[] = [];
    await expect(
      backup(vault, { kind: 'diskImage', path: src }, { indexFlushEveryPacks: 1 }),
    ).rejects.toMatchObject({ code: 'BLOB.TRANSIENT' });
    expect(faulty.injected).toHaveLength(1);
    expect(await listPointIds(vault)).toEqual([]);
    await expectVerifies(vault);

    // A new process: reopen, run again. Blocks of the two packs indexed before the crash are reused.
    const reopened = await openVault(mem, provider);
    const again = await backup(
      reopened,
      { kind: 'diskImage', path: src },
      { onProgress: (p) => progress.push(p) },
    );
    expect(again.blocksDedup).toBeGreaterThan(0);
    expect(again.blocksNew + again.blocksDedup).toBe(64);
    const out = path.join(dir, 'restored.img');
    await restore(reopened, again.pointId, out);
    await expectSameFile(out, image);
    await expectVerifies(reopened);

    const last = progress[progress.length - 1]!;
    expect(last.bytesDone).toBe(4 * MIB);
    expect(last.bytesTotal).toBe(4 * MIB);
    expect(last.etaSeconds).toBe(0);
    expect(last.bytesPerSecond).toBeGreaterThan(0);
  });
});
