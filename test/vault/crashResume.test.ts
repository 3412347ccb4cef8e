// Kill tests (reliability.md tests 1 and 2, kopia TestConsistencyWhenKill9AfterModify): the store
// "dies" after a seeded random number of operations (every later operation throws), the vault is
// re-opened on the underlying store and the work is run again. Afterwards verify --read-data is
// clean, restores are byte-exact, a re-run backup re-uploads at most what the first run had not
// made durable plus one pack, and a re-run prune converges.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { BlobOp, BlobStore } from '../../shared/blob/blobStore';
import { FaultyBlobStore, type Fault } from '../../shared/blob/faultyBlobStore';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { seededRandom } from '../../shared/blob/seededRandom';
import { backup } from '../../shared/vault/backup';
import { BLOCK_RECORD_OVERHEAD_BYTES } from '../../shared/vault/formatIds';
import { isAllZero } from '../../shared/vault/hex';
import { openVault } from '../../shared/vault/openVault';
import { packCreatedMs, readPackHeader } from '../../shared/vault/packHeaderReader';
import { planPrune, readVaultSnapshot } from '../../shared/vault/planPrune';
import { prune } from '../../shared/vault/executePrune';
import { restore } from '../../shared/vault/restore';
import { VAULT_KEYS, packIdOfKey, type Vault } from '../../shared/vault/vault';
import {
  BLOCK,
  KIB,
  MIB,
  STORES,
  expectSameFile,
  expectVerifies,
  mixedImage,
  newVault,
  tempDir,
  withSeed,
  writeImage,
} from './vaultTestUtils';

const PACK_BYTES = 256 * KIB;
const BACKUP_SEEDS = Array.from({ length: 20 }, (_, i) => 1000 + i);
const PRUNE_SEEDS = Array.from({ length: 10 }, (_, i) => 2000 + i);

/** A faultyBlobStore whose extra rule is "dead after `liveOps` operations": every later call throws. */
class DyingBlobStore extends FaultyBlobStore {
  private ops = 0;
  constructor(
    inner: BlobStore,
    private readonly liveOps: number,
    seed: number,
  ) {
    super(inner, [], seed);
  }
  override fire(op: BlobOp, key: string): Fault[] {
    this.ops += 1;
    if (this.ops > this.liveOps) {
      this.injected.push({ op, key, kind: 'transient', call: this.ops });
      return [{ kind: 'transient' }];
    }
    return super.fire(op, key);
  }
  get dead(): boolean {
    return this.ops > this.liveOps;
  }
}

/** Record bytes of every unique non-zero block (compression off: plaintext + 33 bytes). */
function uniqueRecordBytes(image: Buffer): number {
  const seen = new Set<string>();
  let total = 0;
  for (let at = 0; at < image.length; at += BLOCK) {
    const b = image.subarray(at, Math.min(image.length, at + BLOCK));
    if (isAllZero(b)) continue;
    const h = createHash('sha256').update(b).digest('hex');
    if (seen.has(h)) continue;
    seen.add(h);
    total += b.length + BLOCK_RECORD_OVERHEAD_BYTES;
  }
  return total;
}

/** Record bytes in the committed packs of the store (read from the packs' own headers). */
async function durableRecordBytes(vault: Vault): Promise<number> {
  let total = 0;
  for await (const { key, size } of vault.store.list(VAULT_KEYS.PACKS_PREFIX)) {
    const entries = await readPackHeader(vault, packIdOfKey(key)!, size);
    total += entries.reduce((n, e) => n + e.length, 0);
  }
  return total;
}

describe('kill during backup, then re-run (20 seeds)', () => {
  test.each(BACKUP_SEEDS)('seed %i', async (seed) => {
    await withSeed(seed, async () => {
      const rnd = seededRandom(seed);
      const mem = new MemBlobStore();
      const { provider } = await newVault(mem, { packTargetBytes: PACK_BYTES, compression: 'off' });
      const dir = tempDir('kill');
      const image = mixedImage(3 * MIB, seed, 64 * KIB);
      const src = await writeImage(dir, 'disk.img', image);

      const dying = new DyingBlobStore(mem, 1 + Math.floor(rnd() * 45), seed);
      const outcome = await openVault(dying, provider)
        .then((first) => backup(first, { kind: 'diskImage', path: src }))
        .then(
          () => 'completed',
          (err: unknown) => {
            if (!dying.dead) throw err;
            return 'died';
          },
        );

      const vault = await openVault(mem, provider);
      const durable = await durableRecordBytes(vault);
      const total = uniqueRecordBytes(image);
      const rerun = await backup(vault, { kind: 'diskImage', path: src });
      const notDurable = total - durable;
      const allowance = PACK_BYTES + BLOCK + BLOCK_RECORD_OVERHEAD_BYTES;
      if (rerun.bytesNewStored > notDurable + allowance) {
        throw new Error(
          `${outcome}: re-run stored ${rerun.bytesNewStored} B, but only ${notDurable} B were not durable ` +
            `(+${allowance} allowed); adopted ${rerun.packsAdopted}; ${dying.describe()}`,
        );
      }
      expect(rerun.tornPacks).toEqual([]);
      await restore(vault, rerun.pointId, path.join(dir, 'out.img'));
      await expectSameFile(path.join(dir, 'out.img'), image);
      await expectVerifies(vault);
    });
  });
});

describe.each(STORES)('a torn pack is never indexed ($name store)', ({ make }) => {
  test('an unindexed pack that does not parse is reported and ignored; the re-run uploads its blocks', async () => {
    const store = make();
    const { vault } = await newVault(store, { packTargetBytes: PACK_BYTES, compression: 'off' });
    const dir = tempDir('torn');
    const image = mixedImage(1 * MIB, 7, 64 * KIB);
    const src = await writeImage(dir, 'disk.img', image);
    const { pointId } = await backup(vault, { kind: 'diskImage', path: src });
    // A crash mid-upload on a store without atomic commit: a prefix of a pack under a new id.
    let some: { key: string; size: number } | undefined;
    for await (const e of store.list(VAULT_KEYS.PACKS_PREFIX)) some ??= e;
    const { data, metadata } = await store.get(some!.key);
    const tornId = 'ff'.repeat(16);
    await store.put(VAULT_KEYS.pack(tornId), data.subarray(0, data.length - 7), { metadata });
    expect(packCreatedMs({ metadata })).toBeGreaterThan(0);

    const again = await backup(vault, { kind: 'diskImage', path: src }, { parentPointId: pointId });
    expect(again.tornPacks).toEqual([{ packId: tornId, reason: expect.any(String) as string }]);
    expect(again.packsAdopted).toBe(0);
    for (const id of vault.index.packs) expect(id).not.toBe(tornId);
    await restore(vault, again.pointId, path.join(dir, 'out.img'));
    await expectSameFile(path.join(dir, 'out.img'), image);
    await expectVerifies(vault);
  });
});

describe('kill during prune, then re-run (10 seeds)', () => {
  test.each(PRUNE_SEEDS)('seed %i', async (seed) => {
    await withSeed(seed, async () => {
      const rnd = seededRandom(seed);
      const mem = new MemBlobStore();
      const { vault: v0, provider } = await newVault(mem, { packTargetBytes: 128 * KIB, compression: 'off' });
      const dir = tempDir('pkill');
      const a = mixedImage(2 * MIB, seed, 64 * KIB);
      const b = Buffer.from(a);
      mixedImage(MIB, seed + 1, 64 * KIB).copy(b, MIB); // second half changed
      const c = mixedImage(2 * MIB, seed + 2, 64 * KIB);
      const images = [a, b, c];
      const points: string[] = [];
      for (const [i, img] of images.entries()) {
        const src = await writeImage(dir, `d${i}.img`, img);
        points.push((await backup(v0, { kind: 'diskImage', path: src })).pointId);
      }
      const deletePoints = [points[0]!, points[2]!].filter(() => true).slice(0, 1 + Math.floor(rnd() * 2));
      const kept = points
        .map((p, i) => ({ p, img: images[i]! }))
        .filter(({ p }) => !deletePoints.includes(p));
      const opts = { deletePoints, safetyMarginMs: 0, graceMs: 0, nowMs: () => Date.now() + 1 };

      const dying = new DyingBlobStore(mem, 1 + Math.floor(rnd() * 60), seed);
      await openVault(dying, provider)
        .then((first) => prune(first, opts))
        .catch((err: unknown) => {
          if (!dying.dead) throw err;
        });

      const vault = await openVault(mem, provider);
      await expectVerifies(vault);
      for (const { p, img } of kept) {
        await restore(vault, p, path.join(dir, `k-${p}.img`));
        await expectSameFile(path.join(dir, `k-${p}.img`), img);
      }
      await prune(vault, opts);
      const after = planPrune(await readVaultSnapshot(vault), { ...opts, nowMs: Date.now() + 1 });
      expect({
        points: after.deletePoints,
        packs: after.deletePacks,
        repack: after.repackPacks,
        indexes: after.obsoleteIndexIds,
      }).toEqual({ points: [], packs: [], repack: [], indexes: [] });
      for (const { p, img } of kept) {
        await restore(vault, p, path.join(dir, `k2-${p}.img`));
        await expectSameFile(path.join(dir, `k2-${p}.img`), img);
      }
      await expectVerifies(vault);
    });
  });
});
