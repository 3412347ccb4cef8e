// Self-healing after corruption (reliability.md row 10; borg `test_missing_file_chunk`, PBS): verify
// quarantines a broken copy, the next backup of the same source stores the block again, old and new
// points both restore from the healthy copy, verify reports it healed, and prune drops the broken
// copy (and its record) without ever copying it.
import * as path from 'node:path';
import type { BlobStore } from '../../shared/blob/blobStore';
import { backup } from '../../shared/vault/backup';
import { BlockIndex } from '../../shared/vault/blockIndex';
import { prune } from '../../shared/vault/executePrune';
import { openVault } from '../../shared/vault/openVault';
import { restore } from '../../shared/vault/restore';
import { VAULT_KEYS, packIdOfKey, type Vault } from '../../shared/vault/vault';
import { VAULT_ERROR_CODES, type VaultError } from '../../shared/vault/vaultErrors';
import { verify } from '../../shared/vault/verify';
import type { KeyProvider } from '../../shared/vault/keyProvider';
import {
  KIB,
  STORES,
  expectSameFile,
  expectVerifies,
  newVault,
  randomBytesSeeded,
  tempDir,
  writeImage,
} from './vaultTestUtils';

async function keysUnder(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of store.list(prefix)) keys.push(key);
  return keys.sort();
}

interface Setup {
  store: BlobStore;
  vault: Vault;
  provider: KeyProvider;
  image: Buffer;
  src: string;
  dir: string;
  p1: string;
  packKey: string;
  packId: string;
}

async function setup(store: BlobStore, label: string): Promise<Setup> {
  // Small packs (4 records each) so damage to one pack leaves the others intact.
  const { vault, provider } = await newVault(store, { packTargetBytes: 256 * KIB, compression: 'off' });
  const dir = tempDir('selfheal');
  const image = randomBytesSeeded(1024 * KIB, `selfheal-${label}`);
  const src = await writeImage(dir, 'disk.img', image);
  const { pointId: p1 } = await backup(vault, { kind: 'diskImage', path: src });
  const packs = await keysUnder(store, VAULT_KEYS.PACKS_PREFIX);
  expect(packs.length).toBeGreaterThanOrEqual(4);
  const packKey = packs[1]!;
  return { store, vault, provider, image, src, dir, p1, packKey, packId: packIdOfKey(packKey)! };
}

async function expectRestores(vault: Vault, pointIds: string[], dir: string, image: Buffer): Promise<void> {
  for (const pointId of pointIds) {
    const target = path.join(dir, `restored-${pointId}.img`);
    await restore(vault, pointId, target);
    await expectSameFile(target, image);
  }
}

describe('BlockIndex with a quarantined copy', () => {
  const id = Buffer.alloc(32, 7);
  const broken = { packId: 'a'.repeat(32), offset: 0, length: 10 };
  const healthy = { packId: 'b'.repeat(32), offset: 5, length: 10 };

  test.each([
    ['broken first', [broken, healthy]],
    ['healthy first', [healthy, broken]],
  ])('the healthy copy wins whatever the order (%s)', (_, order) => {
    const index = new BlockIndex();
    for (const e of order) index.add(id, e, e === broken);
    expect(index.get(id)).toEqual(healthy);
    expect(index.has(id)).toBe(true);
    expect(index.size).toBe(1);
  });

  test('a block with only a quarantined copy is absent for dedup but still readable as a last resort', () => {
    const index = new BlockIndex();
    expect(index.add(id, broken, true)).toBe(true);
    expect(index.has(id)).toBe(false);
    expect(index.get(id)).toEqual({ ...broken, quarantined: true });
    expect(index.add(id, { ...broken, offset: 99 }, true)).toBe(false); // first quarantined copy kept
  });
});

describe.each(STORES)('self-healing ($name store)', ({ make }) => {
  test('a flipped bit: quarantined, re-uploaded by the next backup, old and new points restore, prune drops it', async () => {
    const s = await setup(make(), 'flip');
    const { store, vault, packKey, packId, p1 } = s;
    const { data } = await store.get(packKey);
    data[100]! ^= 0x10; // inside the first record's ciphertext
    await store.put(packKey, data);

    // Default: verify reports but records nothing (existing callers keep their behaviour).
    const plain = await verify(vault, { readData: true, seed: 1 });
    expect(plain.corruptBlocks).toHaveLength(1);
    expect(plain.quarantined).toBe(0);
    expect(await keysUnder(store, VAULT_KEYS.QUARANTINE_PREFIX)).toEqual([]);

    const found = await verify(vault, { readData: true, seed: 1, quarantine: true });
    expect(found.ok).toBe(false);
    expect(found.corruptBlocks).toHaveLength(1);
    const blockId = found.corruptBlocks[0]!.blockId;
    expect(found.corruptBlocks[0]).toMatchObject({ packId, pointIds: [p1] });
    expect(found.quarantined).toBe(1);
    expect(await keysUnder(store, VAULT_KEYS.QUARANTINE_PREFIX)).toEqual([
      VAULT_KEYS.quarantine(packId, blockId),
    ]);

    // Idempotent; and a quarantined copy with no healthy one stays damage, even structure-only.
    const again = await verify(vault, { quarantine: true });
    expect(again.quarantined).toBe(0);
    expect(again.ok).toBe(false);
    expect(again.corruptBlocks).toEqual([
      expect.objectContaining({ blockId, packId, pointIds: [p1] }) as unknown,
    ]);

    // Prune refuses while a referenced block has no healthy copy (nothing deleted).
    const refused = await prune(vault, { deletePoints: [], safetyMarginMs: 0, graceMs: 0 }).catch(
      (e: unknown) => e as VaultError,
    );
    expect((refused as VaultError).code).toBe(VAULT_ERROR_CODES.DAMAGED);
    expect((refused as VaultError).details.damage).toMatchObject({
      quarantinedBlocks: [{ blockId, packIds: [packId], pointIds: [p1] }],
    });
    expect(await keysUnder(store, VAULT_KEYS.QUARANTINE_PREFIX)).toHaveLength(1);

    // The same Vault object (its refresh must notice the new record): exactly that block is stored again.
    const second = await backup(vault, { kind: 'diskImage', path: s.src });
    expect(second.blocksNew).toBe(1);
    const p2 = second.pointId;

    const healed = await verify(vault, { readData: true, seed: 1 });
    expect(healed.ok).toBe(true);
    expect(healed.healedBlocks).toEqual([
      {
        blockId,
        packId: expect.not.stringMatching(packId) as unknown,
        quarantinedPackIds: [packId],
        pointIds: [p1, p2],
      },
    ]);
    await expectRestores(vault, [p1, p2], s.dir, s.image);
    // Another process (a fresh open) reads the healthy copy too.
    const reopened = await openVault(store, s.provider);
    await expectRestores(reopened, [p1, p2], s.dir, s.image);
    // And does not deduplicate against the broken copy either: nothing new to store.
    expect((await backup(reopened, { kind: 'diskImage', path: s.src })).blocksNew).toBe(0);

    // Prune: the broken pack is a quarter dead now, so it is repacked without the broken record,
    // deleted, and its quarantine record dropped.
    const { plan, result } = await prune(reopened, { deletePoints: [], safetyMarginMs: 0, graceMs: 0 });
    expect(plan.repackPacks.map((p) => p.packId)).toContain(packId);
    expect(plan.repackBlocks.some((e) => e.blockId === blockId)).toBe(false);
    expect(result.quarantineDropped).toBe(1);
    expect(await store.stat(packKey)).toBeUndefined();
    expect(await keysUnder(store, VAULT_KEYS.QUARANTINE_PREFIX)).toEqual([]);
    await expectVerifies(reopened);
    const afterPrune = await openVault(store, s.provider);
    await expectRestores(afterPrune, [p1, p2], s.dir, s.image);
    await expectVerifies(afterPrune);
  });

  test('a missing pack: its blocks are quarantined, supplied again by the next backup, and the records dropped by prune', async () => {
    const s = await setup(make(), 'missing');
    const { store, packKey, packId, p1 } = s;
    await store.delete(packKey);

    const found = await verify(s.vault, { quarantine: true });
    expect(found.ok).toBe(false);
    expect(found.missingPacks).toHaveLength(1);
    expect(found.missingPacks[0]).toMatchObject({ packId, pointIds: [p1] });
    const lost = found.missingPacks[0]!.blockIds;
    expect(lost.length).toBeGreaterThanOrEqual(4);
    expect(found.quarantined).toBe(lost.length);

    // A fresh open (another process) loads the records before the indexes.
    const vault = await openVault(store, s.provider);
    const second = await backup(vault, { kind: 'diskImage', path: s.src });
    expect(second.blocksNew).toBe(lost.length);
    const healed = await verify(vault, { readData: true, seed: 1 });
    expect(healed.ok).toBe(true);
    expect(healed.healedBlocks!.map((h) => h.blockId).sort()).toEqual([...lost].sort());
    await expectRestores(vault, [p1, second.pointId], s.dir, s.image);

    const { result } = await prune(vault, { deletePoints: [], safetyMarginMs: 0, graceMs: 0 });
    expect(result.quarantineDropped).toBe(lost.length);
    expect(await keysUnder(store, VAULT_KEYS.QUARANTINE_PREFIX)).toEqual([]);
    await expectVerifies(vault);
    const afterPrune = await openVault(store, s.provider);
    await expectRestores(afterPrune, [p1, second.pointId], s.dir, s.image);
  });
});
