// Damage on purpose (restic checker_test style): a flipped bit, a truncated pack and a missing pack
// must each be found by verify (naming the block, the pack and the affected points) and must fail
// a restore with the block named, leaving no final file and nothing outside the temp file.
import * as path from 'node:path';
import type { BlobStore } from '../../shared/blob/blobStore';
import { FaultyBlobStore } from '../../shared/blob/faultyBlobStore';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { backup } from '../../shared/vault/backup';
import { openVault } from '../../shared/vault/openVault';
import { restore } from '../../shared/vault/restore';
import { VAULT_KEYS, packIdOfKey, type Vault } from '../../shared/vault/vault';
import { verify } from '../../shared/vault/verify';
import { VaultError } from '../../shared/vault/vaultErrors';
import type { KeyProvider } from '../../shared/vault/keyProvider';
import { KIB, STORES, listAll, newVault, randomBytesSeeded, tempDir, writeImage } from './vaultTestUtils';

async function packKeys(store: BlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of store.list(VAULT_KEYS.PACKS_PREFIX)) keys.push(key);
  return keys;
}

async function setup(
  store: BlobStore,
): Promise<{ vault: Vault; pointIds: string[]; packKey: string; dir: string; provider: KeyProvider }> {
  // Small packs so damage to one pack leaves others intact; two points share every block.
  const { vault, provider } = await newVault(store, { packTargetBytes: 256 * KIB, compression: 'off' });
  const dir = tempDir('faults');
  const src = await writeImage(dir, 'disk.img', randomBytesSeeded(1024 * KIB, 'faults'));
  const p1 = await backup(vault, { kind: 'diskImage', path: src });
  const p2 = await backup(vault, { kind: 'diskImage', path: src }, { parentPointId: p1.pointId });
  const keys = await packKeys(store);
  expect(keys.length).toBeGreaterThanOrEqual(4);
  return { vault, pointIds: [p1.pointId, p2.pointId].sort(), packKey: keys[1]!, dir, provider };
}

async function expectRestoreFails(
  vault: Vault,
  pointId: string,
  dir: string,
  code: string,
  packId: string,
): Promise<VaultError> {
  const before = await listAll(dir);
  const target = path.join(dir, 'restored.img');
  const err = await restore(vault, pointId, target).then(
    () => {
      throw new Error('restore succeeded on a damaged vault');
    },
    (e: unknown) => e as VaultError,
  );
  expect(err.code).toBe(code);
  expect(err.details.packId).toBe(packId);
  expect(err.details.blockId).toMatch(/^[0-9a-f]{64}$/);
  expect(err.message).toContain(err.details.blockId);
  // No final file, no temp file left behind, nothing else written.
  expect(await listAll(dir)).toEqual(before);
  return err;
}

describe.each(STORES)('damage detection ($name store)', ({ make }) => {
  test('a flipped bit in a pack: verify --read-data names block, pack and points; restore fails closed', async () => {
    const store = make();
    const { vault, pointIds, packKey, dir } = await setup(store);
    const packId = packIdOfKey(packKey)!;
    const { data } = await store.get(packKey);
    data[100]! ^= 0x10; // inside the first record's ciphertext
    await store.put(packKey, data);

    const structural = await verify(vault);
    expect(structural.ok).toBe(true); // sizes and headers are intact: only reading the data can tell
    const report = await verify(vault, { readData: true, seed: 1 });
    expect(report.ok).toBe(false);
    expect(report.corruptBlocks).toHaveLength(1);
    expect(report.corruptBlocks[0]).toMatchObject({
      packId,
      pointIds,
      reason: expect.stringContaining('authentication') as string,
    });

    const err = await expectRestoreFails(vault, pointIds[0]!, dir, 'VAULT.BLOCK_CORRUPT', packId);
    expect(err.details.blockId).toBe(report.corruptBlocks[0]!.blockId);
    expect([...(err.details.pointIds ?? [])].sort()).toEqual(pointIds);
  });

  test('a truncated pack: verify names its blocks and the pack; restore fails closed', async () => {
    const store = make();
    const { vault, pointIds, packKey, dir } = await setup(store);
    const packId = packIdOfKey(packKey)!;
    const { data } = await store.get(packKey);
    await store.put(packKey, data.subarray(0, Math.floor(data.length / 2)));

    const report = await verify(vault);
    expect(report.ok).toBe(false);
    expect(report.corruptBlocks.length).toBeGreaterThan(0);
    for (const c of report.corruptBlocks)
      expect(c).toMatchObject({ packId, pointIds, reason: 'its pack is truncated' });
    expect(report.damagedPacks).toEqual([expect.objectContaining({ packId, pointIds })]);
    await expectRestoreFails(vault, pointIds[1]!, dir, 'VAULT.BLOCK_CORRUPT', packId);
  });

  test('a missing pack: verify names the pack, its blocks and the points; restore fails closed', async () => {
    const store = make();
    const { vault, pointIds, packKey, dir } = await setup(store);
    const packId = packIdOfKey(packKey)!;
    await store.delete(packKey);

    const report = await verify(vault);
    expect(report.ok).toBe(false);
    expect(report.missingPacks).toEqual([{ packId, blockIds: expect.any(Array) as string[], pointIds }]);
    expect(report.missingPacks[0]!.blockIds.length).toBeGreaterThan(0);
    const err = await expectRestoreFails(vault, pointIds[0]!, dir, 'VAULT.BLOCK_MISSING', packId);
    expect(report.missingPacks[0]!.blockIds).toContain(err.details.blockId);
  });

  test('an unreadable index is reported; its blocks become missing; restore names a missing block', async () => {
    const store = make();
    const { vault, pointIds, provider, dir } = await setup(store);
    for await (const { key } of store.list(VAULT_KEYS.INDEX_PREFIX)) {
      const { data } = await store.get(key);
      data[data.length - 1]! ^= 1;
      await store.put(key, data);
    }
    const report = await verify(vault);
    expect(report.unreadableIndexes.length).toBeGreaterThan(0);
    expect(report.missingBlocks.length).toBeGreaterThan(0);
    expect(report.missingBlocks[0]!.pointIds).toEqual(pointIds);
    // A fresh reader has no index for those blocks: restore fails closed naming block and points.
    const reader = await openVault(store, provider);
    const before = await listAll(dir);
    const err = await restore(reader, pointIds[0]!, path.join(dir, 'r.img')).then(
      () => {
        throw new Error('restore succeeded with blocks missing');
      },
      (e: unknown) => e as VaultError,
    );
    expect(err).toMatchObject({ code: 'VAULT.BLOCK_MISSING', details: { pointIds } });
    expect(report.missingBlocks.map((m) => m.blockId)).toContain(err.details.blockId);
    expect(err.message).toContain(err.details.blockId);
    expect(await listAll(dir)).toEqual(before);
  });
});

describe('damage seen through the faultyBlobStore wrapper', () => {
  test('a bit flipped in transit on a pack read fails the restore with the block named', async () => {
    const mem = new MemBlobStore();
    const { vault, provider } = await newVault(mem);
    const dir = tempDir('faulty');
    const src = await writeImage(dir, 'disk.img', randomBytesSeeded(300 * KIB, 'wire'));
    const { pointId } = await backup(vault, { kind: 'diskImage', path: src });
    const faulty = new FaultyBlobStore(
      mem,
      [{ ops: ['getRange'], keyPattern: /^packs\//, nth: 1, fault: { kind: 'flipBit' } }],
      99,
    );
    const reader = await openVault(faulty, provider);
    const err = await restore(reader, pointId, path.join(dir, 'out.img')).catch(
      (e: unknown) => e as VaultError,
    );
    expect(err).toMatchObject({ code: 'VAULT.BLOCK_CORRUPT', details: { pointIds: [pointId] } });
    expect(faulty.injected).toHaveLength(1);
    expect(await listAll(dir)).toEqual(['disk.img']);
  });
});
