// Directory trees: names, nesting, empty files and dirs, symlinks kept as links, modes and mtimes,
// and item-level restore of one file or folder; on the memory and local-directory stores.
import { chmod, mkdir, symlink, utimes, writeFile, lutimes, lstat } from 'node:fs/promises';
import * as path from 'node:path';
import { backup } from '../../shared/vault/backup';
import { restore } from '../../shared/vault/restore';
import {
  BLOCK,
  STORES,
  expectVerifies,
  listAll,
  mixedImage,
  newVault,
  randomBytesSeeded,
  snapshotTree,
  tempDir,
} from './vaultTestUtils';

async function buildTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'empty-dir'));
  await mkdir(path.join(root, 'a/b/c'), { recursive: true });
  await writeFile(path.join(root, 'empty-file'), '');
  await writeFile(path.join(root, 'small.txt'), 'hello vault\n');
  await writeFile(path.join(root, 'a/one-block.bin'), randomBytesSeeded(BLOCK, 't1'));
  await writeFile(path.join(root, 'a/b/block-plus-one.bin'), randomBytesSeeded(BLOCK + 1, 't2'));
  await writeFile(path.join(root, 'a/b/c/mixed.bin'), mixedImage(700 * 1024, 9, 64 * 1024));
  await writeFile(
    path.join(root, 'a/b/c/zeros-tail.bin'),
    Buffer.concat([Buffer.from('x'), Buffer.alloc(3 * BLOCK)]),
  );
  await writeFile(path.join(root, 'a/dup1.txt'), 'same content');
  await writeFile(path.join(root, 'a/dup2.txt'), 'same content');
  await writeFile(path.join(root, 'spaces and ünïcode ✓.txt'), 'names survive');
  await symlink('a/b', path.join(root, 'link-to-dir'));
  await symlink('/definitely/not/here', path.join(root, 'dangling-absolute-link'));
  await chmod(path.join(root, 'small.txt'), 0o640);
  await chmod(path.join(root, 'a/one-block.bin'), 0o755);
  await chmod(path.join(root, 'a/b/c'), 0o750);
  await utimes(path.join(root, 'small.txt'), 1_500_000_000, 1_500_000_000.25);
  await lutimes(path.join(root, 'link-to-dir'), 1_400_000_000, 1_400_000_000);
  await utimes(path.join(root, 'a/b'), 1_300_000_000, 1_300_000_000);
}

describe.each(STORES)('directory tree round trip ($name store)', ({ make }) => {
  test('an empty directory', async () => {
    const { vault } = await newVault(make());
    const src = tempDir('tree-src');
    const result = await backup(vault, { kind: 'directoryTree', path: src });
    const out = path.join(tempDir('tree-out'), 'restored');
    await restore(vault, result.pointId, out);
    expect(await listAll(out)).toEqual([]);
    await expectVerifies(vault);
  });

  test('nested dirs, empty files, symlinks as links, modes and mtimes are restored exactly', async () => {
    const { vault } = await newVault(make());
    const src = tempDir('tree-src');
    await buildTree(src);
    const before = await snapshotTree(src);
    const result = await backup(vault, { kind: 'directoryTree', path: src });
    expect(result.blocksDedup).toBeGreaterThanOrEqual(1); // dup1/dup2
    const out = path.join(tempDir('tree-out'), 'restored');
    const restored = await restore(vault, result.pointId, out);
    expect(restored.refused).toEqual([]);
    expect(await snapshotTree(out)).toEqual(before);
    expect((await lstat(path.join(out, 'link-to-dir'))).isSymbolicLink()).toBe(true);
    await expectVerifies(vault);
  });

  test('item-level restore of one file and of one folder', async () => {
    const { vault } = await newVault(make());
    const src = tempDir('tree-src');
    await buildTree(src);
    const before = await snapshotTree(src);
    const { pointId } = await backup(vault, { kind: 'directoryTree', path: src });

    const fileOut = tempDir('item-file');
    await restore(vault, pointId, fileOut, { item: 'a/b/block-plus-one.bin' });
    expect(await snapshotTree(fileOut)).toEqual({ 'block-plus-one.bin': before['a/b/block-plus-one.bin'] });

    const dirOut = tempDir('item-dir');
    await restore(vault, pointId, dirOut, { item: 'a/b' });
    const got = await snapshotTree(dirOut);
    const expected = Object.fromEntries(
      Object.entries(before)
        .filter(([k]) => k === 'a/b' || k.startsWith('a/b/'))
        .map(([k, v]) => [k.slice('a/'.length), v]),
    );
    expect(got).toEqual(expected);

    await expect(restore(vault, pointId, tempDir('item-none'), { item: 'a/nope' })).rejects.toMatchObject({
      code: 'VAULT.ITEM_NOT_FOUND',
    });
    await expectVerifies(vault);
  });
});
