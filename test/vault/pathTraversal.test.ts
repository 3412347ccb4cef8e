// Restore never writes outside its target (reliability.md row 23): a crafted tree manifest with
// `../x`, absolute names, separators, NUL, duplicate names and a symlink escape is refused entry by
// entry, with 0 bytes written outside the target.
import { mkdir, readFile, symlink } from 'node:fs/promises';
import * as path from 'node:path';
import { BlockSink } from '../../shared/vault/blockSink';
import { writeTreeManifest } from '../../shared/vault/manifestStore';
import { newPointId, writePoint } from '../../shared/vault/recoveryPoint';
import { restore } from '../../shared/vault/restore';
import type { DirEntry, TreeEntry } from '../../shared/vault/treeManifest';
import type { Vault } from '../../shared/vault/vault';
import { expectVerifies, listAll, newVault, tempDir } from './vaultTestUtils';

const MTIME = '1600000000000000000';

async function fileEntry(sink: BlockSink, name: string, text: string): Promise<TreeEntry> {
  const data = Buffer.from(text);
  const id = await sink.put(data);
  return {
    type: 'file',
    name,
    mode: 0o644,
    mtimeNs: MTIME,
    size: data.length,
    blocks: [id!.toString('hex')],
  };
}

async function craftedPoint(vault: Vault, root: DirEntry): Promise<string> {
  const manifestId = await writeTreeManifest(vault, root);
  const id = newPointId(new Date());
  await writePoint(vault, {
    v: 1,
    id,
    parentId: null,
    time: new Date().toISOString(),
    source: { kind: 'directoryTree', name: 'crafted' },
    manifests: [{ id: manifestId, kind: 'tree' }],
    totals: { bytesRead: 0, bytesNewStored: 0, blocksNew: 0, blocksDedup: 0, blocksZero: 0, sourceBytes: 0 },
  });
  return id;
}

test('crafted names and symlink escapes are refused, reported, and write nothing outside the target', async () => {
  const { vault } = await newVault();
  const sink = new BlockSink(vault);
  const evil = (name: string) => fileEntry(sink, name, `evil via ${JSON.stringify(name)}`);
  const sandbox = tempDir('traversal');
  const outside = path.join(sandbox, 'outside');
  const target = path.join(sandbox, 'target');
  await mkdir(outside);
  await mkdir(target);
  // Already in the target: a symlink pointing outside. The manifest then has a dir of that name.
  await symlink(outside, path.join(target, 'preexisting-escape'));

  const root: DirEntry = {
    type: 'dir',
    name: '',
    mode: 0o755,
    mtimeNs: MTIME,
    children: [
      await evil('../x'),
      await evil('..'),
      await evil('/abs-evil'),
      await evil(path.join(outside, 'absolute')),
      await evil('a\\..\\..\\win'),
      await evil('nul\0byte'),
      await evil('sub/../../slash'),
      await fileEntry(sink, 'ok.txt', 'fine'),
      // A symlink to outside, then a dir of the same name whose file would land through it.
      { type: 'symlink', name: 'escape', mode: 0o777, mtimeNs: MTIME, target: outside },
      { type: 'dir', name: 'escape', mode: 0o755, mtimeNs: MTIME, children: [await evil('through-link')] },
      {
        type: 'dir',
        name: 'preexisting-escape',
        mode: 0o755,
        mtimeNs: MTIME,
        children: [await evil('pwned')],
      },
      {
        type: 'dir',
        name: 'deep',
        mode: 0o755,
        mtimeNs: MTIME,
        children: [await evil('../../../deep-escape')],
      },
    ],
  };
  await sink.finish();
  const pointId = await craftedPoint(vault, root);

  const result = await restore(vault, pointId, target);

  expect(await listAll(outside)).toEqual([]);
  expect(await listAll(sandbox)).toEqual(
    ['deep', 'escape', 'ok.txt', 'preexisting-escape']
      .map((n) => `target/${n}`)
      .concat(['outside', 'target'])
      .sort(),
  );
  expect(await readFile(path.join(target, 'ok.txt'), 'utf8')).toBe('fine');
  const refused = Object.fromEntries(result.refused.map((r) => [r.path, r.reason]));
  expect(Object.keys(refused).sort()).toEqual(
    [
      '../x',
      '..',
      '/abs-evil',
      path.join(outside, 'absolute'),
      'a\\..\\..\\win',
      'nul\0byte',
      'sub/../../slash',
      'escape',
      'preexisting-escape',
      'deep/../../../deep-escape',
    ].sort(),
  );
  expect(refused['preexisting-escape']).toMatch(/symlink is never followed/);
  expect(refused.escape).toMatch(/duplicate name/); // the link itself is restored, as a link
  await expectVerifies(vault);
});
