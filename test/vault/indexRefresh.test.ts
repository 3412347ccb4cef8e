// The cheap paths of an incremental backup: refreshIndex reads only index blobs the open vault has
// not seen (and everything again once one it relied on is gone), and a tracked incremental reads
// only runs of changed blocks, not whole 4 MiB chunks.
import type { BlobContent } from '../../shared/blob/blobStore';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { backup } from '../../shared/vault/backup';
import { BlockSink } from '../../shared/vault/blockSink';
import type { ByteRange, ChangedRanges } from '../../shared/vault/backupSource';
import { READ_GAP_MERGE_BYTES } from '../../shared/vault/backupDiskImage';
import { openVault } from '../../shared/vault/openVault';
import { refreshIndex } from '../../shared/vault/refreshIndex';
import { VAULT_KEYS } from '../../shared/vault/vault';
import {
  BLOCK,
  MIB,
  expectSameFile,
  expectVerifies,
  newVault,
  randomBytesSeeded,
  tempDir,
  withSeed,
  writeImage,
} from './vaultTestUtils';
import { restore } from '../../shared/vault/restore';
import * as path from 'node:path';

const SEED = Number(process.env.VAULT_TEST_SEED ?? 4242);

/** A MemBlobStore that counts whole-object reads of index blobs. */
class CountingStore extends MemBlobStore {
  indexReads = 0;
  override get(key: string): Promise<BlobContent> {
    if (key.startsWith(VAULT_KEYS.INDEX_PREFIX)) this.indexReads += 1;
    return super.get(key);
  }
}

async function indexCount(store: MemBlobStore): Promise<number> {
  let n = 0;
  for await (const _ of store.list(VAULT_KEYS.INDEX_PREFIX)) n += 1;
  return n;
}

describe('refreshIndex', () => {
  test('reads only new index blobs while every loaded one still exists', async () => {
    await withSeed(SEED, async () => {
      const store = new CountingStore();
      const { vault, provider } = await newVault(store, { packTargetBytes: 256 * 1024 });
      const dir = tempDir('refresh');
      const a = await writeImage(dir, 'a.img', randomBytesSeeded(2 * MIB, `${SEED}-a`));
      await backup(vault, { kind: 'diskImage', path: a });
      expect(await indexCount(store)).toBeGreaterThan(0);

      // This process wrote every index blob there is: nothing to read.
      store.indexReads = 0;
      await backup(vault, { kind: 'diskImage', path: a });
      expect(store.indexReads).toBe(0);

      // Another writer adds blobs: exactly those are read, and their blocks deduplicate.
      const other = await openVault(store, provider);
      const b = await writeImage(dir, 'b.img', randomBytesSeeded(MIB, `${SEED}-b`));
      const before = await indexCount(store);
      await backup(other, { kind: 'diskImage', path: b });
      const added = (await indexCount(store)) - before;
      expect(added).toBeGreaterThan(0);
      store.indexReads = 0;
      const again = await backup(vault, { kind: 'diskImage', path: b });
      expect(store.indexReads).toBe(added);
      expect(again.blocksNew).toBe(0);

      // A blob the view relied on is gone (as after prune): everything is read again.
      let gone: string | undefined;
      for await (const { key } of store.list(VAULT_KEYS.INDEX_PREFIX)) gone ??= key;
      await store.delete(gone!);
      store.indexReads = 0;
      await refreshIndex(vault, { adopt: false });
      expect(store.indexReads).toBe(await indexCount(store));
      expect(vault.indexIds.has(gone!.slice(VAULT_KEYS.INDEX_PREFIX.length))).toBe(false);
    });
  });

  test('a backup that fails before storing anything keeps the cheap path', async () => {
    await withSeed(SEED, async () => {
      const store = new CountingStore();
      const { vault } = await newVault(store, { packTargetBytes: 256 * 1024 });
      const dir = tempDir('refresh-fail');
      const a = await writeImage(dir, 'a.img', randomBytesSeeded(MIB, `${SEED}-a`));
      await backup(vault, { kind: 'diskImage', path: a });
      const failing: ChangedRanges = {
        changedRanges: () => Promise.reject(new Error('tracker down')),
      };
      const c = await writeImage(dir, 'c.img', randomBytesSeeded(2 * MIB, `${SEED}-c`));
      // Fails after refreshIndex, before any pack: the view stays exact (nothing unnamed added).
      await expect(backup(vault, { kind: 'diskImage', path: c }, { changedRanges: failing })).rejects.toThrow(
        'tracker down',
      );
      store.indexReads = 0;
      await refreshIndex(vault, { adopt: false });
      expect(store.indexReads).toBe(0);
      await expectVerifies(vault);
    });
  });

  test('after a pack is committed but not yet indexed, the next refresh reloads everything', async () => {
    await withSeed(SEED, async () => {
      const store = new CountingStore();
      const { vault } = await newVault(store, { packTargetBytes: 256 * 1024 });
      const dir = tempDir('refresh-unindexed');
      await backup(vault, {
        kind: 'diskImage',
        path: await writeImage(dir, 'a.img', randomBytesSeeded(MIB, `${SEED}-a`)),
      });
      const sink = new BlockSink(vault, { packTargetBytes: BLOCK });
      await sink.put(randomBytesSeeded(BLOCK, `${SEED}-x`)); // commits a pack, no index blob yet
      await sink.abort();
      store.indexReads = 0;
      await refreshIndex(vault);
      expect(store.indexReads).toBe(await indexCount(store));
    });
  });
});

class FixedRanges implements ChangedRanges {
  constructor(private readonly ranges: ByteRange[]) {}
  changedRanges(): Promise<{ ranges: ByteRange[]; token: string }> {
    return Promise.resolve({ ranges: this.ranges, token: 't' });
  }
}

describe('tracked incremental reads', () => {
  test('reads runs of changed blocks, joining only small gaps', async () => {
    await withSeed(SEED, async () => {
      const { vault } = await newVault(new MemBlobStore());
      const dir = tempDir('runs');
      const image = randomBytesSeeded(8 * MIB, `${SEED}-runs`);
      const src = await writeImage(dir, 'disk.img', image);
      const first = await backup(vault, { kind: 'diskImage', path: src });
      const gapBlocks = READ_GAP_MERGE_BYTES / BLOCK;
      // Blocks 1 and 1+gap+1 (a gap that is joined), then one block far away in the same 4 MiB chunk.
      const ranges: ByteRange[] = [
        { offset: BLOCK + 100, length: 10 },
        { offset: (2 + gapBlocks) * BLOCK, length: BLOCK },
        { offset: 40 * BLOCK, length: 1 },
      ];
      const second = await backup(
        vault,
        { kind: 'diskImage', path: src },
        { parentPointId: first.pointId, changedRanges: new FixedRanges(ranges) },
      );
      expect(second.bytesRead).toBe((gapBlocks + 2) * BLOCK + BLOCK);
      const out = path.join(dir, 'out.img');
      await restore(vault, second.pointId, out);
      await expectSameFile(out, image);
      await expectVerifies(vault);
    });
  });
});
