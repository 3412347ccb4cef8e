// Disk images: byte-exact round trips at the block boundaries, sparse images and seeded random
// sizes, on the memory and local-directory stores. Every test ends with the checker.
import * as path from 'node:path';
import { backup } from '../../shared/vault/backup';
import { restore } from '../../shared/vault/restore';
import { seededRandom } from '../../shared/blob/seededRandom';
import {
  BLOCK,
  MIB,
  STORES,
  expectSameFile,
  expectVerifies,
  mixedImage,
  newVault,
  randomBytesSeeded,
  tempDir,
  withSeed,
  writeImage,
} from './vaultTestUtils';

const RANDOM_SIZE_SEED = Number(process.env.VAULT_TEST_SEED ?? 20240607);

describe.each(STORES)('disk image round trip ($name store)', ({ make }) => {
  const boundaryCases: [string, () => Buffer][] = [
    ['empty', () => Buffer.alloc(0)],
    ['1 byte', () => Buffer.from([0x5a])],
    ['exactly one block', () => randomBytesSeeded(BLOCK, 'one')],
    ['one block + 1 byte', () => randomBytesSeeded(BLOCK + 1, 'one-plus')],
    ['one block of zeros', () => Buffer.alloc(BLOCK)],
    ['one block − 1 byte of text-like data', () => mixedImage(BLOCK - 1, 3, 4096)],
  ];

  test.each(boundaryCases)('%s', async (_label, data) => {
    const { vault } = await newVault(make());
    const dir = tempDir('disk');
    const image = data();
    const src = await writeImage(dir, 'src.img', image);
    const result = await backup(vault, { kind: 'diskImage', path: src });
    expect(result.bytesRead).toBe(image.length);
    const out = path.join(dir, 'restored.img');
    await restore(vault, result.pointId, out);
    await expectSameFile(out, image);
    await expectVerifies(vault);
  });

  test('sparse image: large zero holes are neither stored nor written', async () => {
    const { vault } = await newVault(make());
    const dir = tempDir('disk');
    const image = Buffer.alloc(8 * MIB);
    randomBytesSeeded(3 * BLOCK, 'head').copy(image, 0);
    randomBytesSeeded(1000, 'mid').copy(image, 5 * MIB + 123);
    randomBytesSeeded(BLOCK, 'tail').copy(image, image.length - BLOCK);
    const src = await writeImage(dir, 'sparse.img', image);
    const result = await backup(vault, { kind: 'diskImage', path: src });
    expect(result.blocksNew).toBe(3 + 1 + 1);
    expect(result.blocksZero).toBe(128 - 5);
    expect(result.bytesNewStored).toBeLessThan(6 * BLOCK);
    const out = path.join(dir, 'restored.img');
    const restored = await restore(vault, result.pointId, out);
    expect(restored.bytesWritten).toBe(5 * BLOCK);
    await expectSameFile(out, image);
    await expectVerifies(vault);
  });

  test('random sizes and mixed content (seeded)', async () => {
    await withSeed(RANDOM_SIZE_SEED, async () => {
      const rnd = seededRandom(RANDOM_SIZE_SEED);
      const { vault } = await newVault(make(), { packTargetBytes: 512 * 1024 });
      const dir = tempDir('disk');
      for (let i = 0; i < 4; i += 1) {
        const size = Math.floor(rnd() * 3 * MIB);
        const image = mixedImage(size, RANDOM_SIZE_SEED + i, 32 * 1024);
        const src = await writeImage(dir, `r${i}.img`, image);
        const result = await backup(vault, { kind: 'diskImage', path: src });
        const out = path.join(dir, `r${i}.out`);
        await restore(vault, result.pointId, out);
        await expectSameFile(out, image);
      }
      await expectVerifies(vault);
    });
  });
});
