// Prune and garbage collection: the plan is pure and previewable, the safety margin keeps young
// packs, a damaged vault is refused with 0 deletes (reliability.md row 4, test 5), and a backup
// running concurrently with prune loses no block it references (test 4).
import * as path from 'node:path';
import type { BlobStore } from '../../shared/blob/blobStore';
import { FaultyBlobStore } from '../../shared/blob/faultyBlobStore';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { seededRandom } from '../../shared/blob/seededRandom';
import { backup } from '../../shared/vault/backup';
import { prune } from '../../shared/vault/executePrune';
import { openVault } from '../../shared/vault/openVault';
import { GC_SAFETY_MARGIN_MS, planPrune, readVaultSnapshot } from '../../shared/vault/planPrune';
import { listPointIds } from '../../shared/vault/recoveryPoint';
import { restore } from '../../shared/vault/restore';
import { VAULT_KEYS } from '../../shared/vault/vault';
import type { VaultError } from '../../shared/vault/vaultErrors';
import {
  KIB,
  MIB,
  expectSameFile,
  expectVerifies,
  mixedImage,
  newVault,
  tempDir,
  withSeed,
  writeImage,
} from './vaultTestUtils';

async function allKeys(store: BlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key, etag } of store.list('')) keys.push(`${key} ${etag}`);
  return keys;
}

async function twoPoints(store: BlobStore = new MemBlobStore()) {
  const { vault, provider } = await newVault(store, { packTargetBytes: 128 * KIB, compression: 'off' });
  const dir = tempDir('prune');
  const a = mixedImage(2 * MIB, 11, 64 * KIB);
  const b = mixedImage(2 * MIB, 12, 64 * KIB);
  a.copy(b, 0, 0, MIB); // first half shared
  const p1 = await backup(vault, { kind: 'diskImage', path: await writeImage(dir, 'a.img', a) });
  const p2 = await backup(vault, { kind: 'diskImage', path: await writeImage(dir, 'b.img', b) });
  return { vault, provider, store, dir, a, b, p1: p1.pointId, p2: p2.pointId };
}

describe('planPrune', () => {
  test('is a pure, previewable function of the snapshot; the default margin keeps young packs', async () => {
    const { vault, store, p1 } = await twoPoints();
    const snap = await readVaultSnapshot(vault);
    const frozen = JSON.parse(JSON.stringify(snap)) as typeof snap;
    const now = Date.now();
    const plan = planPrune(snap, { deletePoints: [p1], nowMs: now, safetyMarginMs: 0 });
    expect(planPrune(frozen, { deletePoints: [p1], nowMs: now, safetyMarginMs: 0 })).toEqual(plan);
    expect(snap).toEqual(frozen); // not mutated
    expect(plan.deletePoints).toEqual([p1]);
    expect(plan.blocksUnreferenced).toBeGreaterThan(0);
    expect(plan.deletePacks.length + plan.repackPacks.length).toBeGreaterThan(0);
    expect(plan.bytesFreed).toBeGreaterThan(0);

    // Default margin (24 h 5 min): everything was just written, so nothing is deletable yet.
    const safe = planPrune(snap, { deletePoints: [p1], nowMs: now });
    expect(safe.safetyMarginMs).toBe(GC_SAFETY_MARGIN_MS);
    expect(safe.deletePacks).toEqual([]);
    expect(safe.repackPacks).toEqual([]);
    expect(safe.youngUnreferencedPacks).toBeGreaterThan(0);
    const before = await allKeys(store);
    await prune(vault, { deletePoints: [p1], graceMs: 0 });
    const after = await allKeys(store);
    expect(after.filter((k) => k.startsWith('packs/'))).toEqual(before.filter((k) => k.startsWith('packs/')));
    expect(await listPointIds(vault)).not.toContain(p1);
    await expectVerifies(vault);
  });

  test('deleting a point frees its blocks; the other point restores byte-exact', async () => {
    const { vault, dir, b, p1, p2 } = await twoPoints();
    const { plan, result } = await prune(vault, {
      deletePoints: [p1],
      safetyMarginMs: 0,
      graceMs: 0,
      nowMs: () => Date.now() + 1,
    });
    expect(result.pointsDeleted).toBe(1);
    expect(result.packsDeleted).toBe(plan.deletePacks.length + plan.repackPacks.length);
    await restore(vault, p2, path.join(dir, 'b.out'));
    await expectSameFile(path.join(dir, 'b.out'), b);
    const again = planPrune(await readVaultSnapshot(vault), {
      deletePoints: [],
      nowMs: Date.now() + 1,
      safetyMarginMs: 0,
    });
    expect([again.deletePacks, again.repackPacks, again.obsoleteIndexIds]).toEqual([[], [], []]);
    await expectVerifies(vault);
  });
});

describe('prune refuses a damaged vault (0 deletes)', () => {
  test.each([
    ['a referenced pack is missing', 'pack'],
    ['an index is unreadable', 'index'],
  ])('%s', async (_label, what) => {
    const { vault, store, p1 } = await twoPoints();
    let victim: string | undefined;
    for await (const { key } of store.list(
      what === 'pack' ? VAULT_KEYS.PACKS_PREFIX : VAULT_KEYS.INDEX_PREFIX,
    ))
      victim ??= key;
    if (what === 'pack') await store.delete(victim!);
    else {
      const { data } = await store.get(victim!);
      data[data.length - 1]! ^= 1;
      await store.put(victim!, data);
    }
    const before = await allKeys(store);
    const err = await prune(vault, { deletePoints: [p1], safetyMarginMs: 0, graceMs: 0 }).catch(
      (e: unknown) => e as VaultError,
    );
    expect(err).toMatchObject({ code: 'VAULT.DAMAGED' });
    const damage = (err as VaultError).details.damage as Record<string, unknown[]>;
    const found =
      what === 'pack'
        ? damage.missingPacks!.length + damage.missingBlocks!.length
        : damage.unreadableIndexes!.length;
    expect(found).toBeGreaterThan(0);
    expect(await allKeys(store)).toEqual(before);
  });
});

describe('concurrent backup and prune lose no referenced block', () => {
  // The backup re-backs up image `a`, whose blocks the prune is about to collect (its point is
  // deleted): it deduplicates against exactly the blocks in danger. Start times and store delays
  // are seeded so the backup's view load, its final check and prune's barrier interleave differently.
  test.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i', async (seed) => {
    await withSeed(seed, async () => {
      const rnd = seededRandom(seed);
      const margin = 1000;
      const t0 = Date.now() - 10 * margin; // the first points' packs are "old"
      const mem = new MemBlobStore();
      const { vault, provider } = await newVault(mem, { packTargetBytes: 128 * KIB, compression: 'off' });
      const dir = tempDir('conc');
      const a = mixedImage(2 * MIB, 100 + seed, 64 * KIB);
      const src = await writeImage(dir, 'a.img', a);
      const old = await backup(vault, { kind: 'diskImage', path: src }, { now: () => new Date(t0) });

      const slow = new FaultyBlobStore(
        mem,
        [
          {
            ops: ['get', 'put', 'list', 'writer.write'],
            fault: { kind: 'delay', ms: 1 + Math.floor(rnd() * 15) },
          },
        ],
        seed,
      );
      const writer = await openVault(slow, provider);
      const pruner = await openVault(mem, provider);
      const startDelay = Math.floor(rnd() * 800);
      const [bk, pr] = await Promise.all([
        new Promise((r) => setTimeout(r, startDelay)).then(() =>
          backup(writer, { kind: 'diskImage', path: src }, { pointWriteWindowMs: 100 }),
        ),
        prune(pruner, { deletePoints: [old.pointId], safetyMarginMs: margin, graceMs: 300 }),
      ]);
      expect(pr.result.pointsDeleted).toBe(1);
      const reader = await openVault(mem, provider);
      expect(await listPointIds(reader)).toEqual([bk.pointId]);
      await restore(reader, bk.pointId, path.join(dir, 'out.img'));
      await expectSameFile(path.join(dir, 'out.img'), a);
      await expectVerifies(reader);
      // A later prune (nothing concurrent) also keeps it.
      await prune(reader, { deletePoints: [], safetyMarginMs: 0, graceMs: 0, nowMs: () => Date.now() + 1 });
      await restore(reader, bk.pointId, path.join(dir, 'out2.img'));
      await expectSameFile(path.join(dir, 'out2.img'), a);
      await expectVerifies(reader);
    });
  });
});

describe('the race, made deterministic', () => {
  test('a backup whose view predates the barrier detects it, re-runs, and its point restores', async () => {
    const mem = new MemBlobStore();
    const { vault, provider } = await newVault(mem, { packTargetBytes: 128 * KIB, compression: 'off' });
    const dir = tempDir('race');
    const a = mixedImage(2 * MIB, 77, 64 * KIB);
    const src = await writeImage(dir, 'a.img', a);
    const old = await backup(
      vault,
      { kind: 'diskImage', path: src },
      { now: () => new Date(Date.now() - 60_000) },
    );

    // The backup pauses at its final index check (its 2nd listing of index/) until prune is done.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let indexLists = 0;
    const gated: BlobStore = Object.create(mem) as BlobStore;
    gated.list = (prefix: string) => {
      if (prefix !== VAULT_KEYS.INDEX_PREFIX || ++indexLists !== 2) return mem.list(prefix);
      return (async function* () {
        await gate;
        yield* mem.list(prefix);
      })();
    };
    const writer = await openVault(gated, provider);
    const running = backup(writer, { kind: 'diskImage', path: src });
    while (indexLists < 2) await new Promise((r) => setTimeout(r, 5));
    const { result } = await prune(await openVault(mem, provider), {
      deletePoints: [old.pointId],
      safetyMarginMs: 1000,
      graceMs: 0,
    });
    expect(result.packsDeleted).toBeGreaterThan(0); // the blocks the backup deduplicated against are gone
    release();
    const bk = await running;
    expect(bk.blocksNew).toBeGreaterThan(0); // re-run after VAULT.CONCURRENT_PRUNE uploaded them again
    const reader = await openVault(mem, provider);
    await restore(reader, bk.pointId, path.join(dir, 'out.img'));
    await expectSameFile(path.join(dir, 'out.img'), a);
    await expectVerifies(reader);
  });
});
