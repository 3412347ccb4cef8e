// The conformance suite against a temp directory, plus what only a file system can get wrong:
// keys escaping the root, symlinks, bookkeeping files, nested keys and abandoned locks.
import { mkdtemp, mkdir, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BLOB_ERROR_CODES as CODES } from '../../shared/blob/blobErrors';
import { LocalDirBlobStore } from '../../shared/blob/localDirBlobStore';
import { LocalDirLayout } from '../../shared/blob/localDirLayout';
import { LOCK_STALE_MS } from '../../shared/blob/localDirLock';
import { describeBlobStoreConformance } from './blobStoreConformance';
import { collect, expectCode, expectSameBytes, text } from './blobTestUtils';

const roots: string[] = [];

async function tempRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'strongbox-blob-'));
  roots.push(root);
  return root;
}

afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

describeBlobStoreConformance('localDirBlobStore', async () => new LocalDirBlobStore(await tempRoot()));

/** Every file and directory under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map((e) => e.split(path.sep).join('/')).sort();
}

describe('localDirBlobStore on disk', () => {
  test('key traversal attempts are refused and nothing is written outside the root', async () => {
    const outer = await tempRoot();
    const root = path.join(outer, 'root');
    await mkdir(root);
    const store = new LocalDirBlobStore(root);
    const attempts = [
      '../escape',
      'a/../../escape',
      '/tmp/escape',
      '..\\escape',
      'a/..',
      './escape',
      'C:/escape',
    ];
    for (const key of attempts) {
      await expectCode(store.put(key, text('x')), CODES.INVALID_KEY);
      await expectCode(store.openWriter(key), CODES.INVALID_KEY);
      await expectCode(store.delete(key), CODES.INVALID_KEY);
      await expectCode(store.get(key), CODES.INVALID_KEY);
    }
    await expectCode(collect(store.list('../')), CODES.INVALID_KEY);
    expect(await tree(outer)).toEqual(['root']);
  });

  test('objects are stored as their exact bytes at root/<key>, with no bookkeeping in listings', async () => {
    const root = await tempRoot();
    const store = new LocalDirBlobStore(root);
    await store.put('packs/ab/abcdef', text('pack bytes'), { metadata: { codec: 'none' } });
    expect(await readFile(path.join(root, 'packs', 'ab', 'abcdef'), 'utf8')).toBe('pack bytes');
    // A crashed writer's temp file and stray files are not objects.
    await writeFile(path.join(root, 'packs', 'ab', '.abcdef.0123.tmp'), 'partial');
    await writeFile(path.join(root, 'packs', 'README.TXT'), 'not a key');
    expect((await collect(store.list(''))).map((e) => e.key)).toEqual(['packs/ab/abcdef']);
    const meta = await tree(path.join(root, '.strongbox', 'meta'));
    expect(meta.filter((f) => f.endsWith('.json'))).toHaveLength(1);
  });

  test('a symlink at an object name is not followed', async () => {
    const root = await tempRoot();
    const secret = path.join(await tempRoot(), 'secret');
    await writeFile(secret, 'outside the root');
    await symlink(secret, path.join(root, 'link'));
    const store = new LocalDirBlobStore(root);
    await expectCode(store.get('link'), CODES.FAILED);
    await expectCode(store.getRange('link', 0, 1), CODES.FAILED);
    expect(await store.stat('link')).toBeUndefined();
    expect(await collect(store.list(''))).toEqual([]);
  });

  test('a key cannot be both an object and a parent of other objects (file-system rule)', async () => {
    const store = new LocalDirBlobStore(await tempRoot());
    await store.put('a/b', text('x'));
    await expectCode(store.put('a/b/c', text('y')), CODES.INVALID_KEY);
    await expectCode(store.openWriter('a/b/c'), CODES.INVALID_KEY);
    await expectCode(store.put('a', text('y')), CODES.INVALID_KEY);
    await expectCode(store.get('a'), CODES.NOT_FOUND);
    expect(await store.stat('a')).toBeUndefined();
    expect(await store.delete('a')).toEqual({ deleted: false });
    await expectCode(store.get('a/b/c'), CODES.NOT_FOUND);
  });

  test('8 stores on one root (as separate processes would be): one ifNoneMatch winner', async () => {
    const root = await tempRoot();
    const stores = Array.from({ length: 8 }, () => new LocalDirBlobStore(root));
    const results = await Promise.allSettled(
      stores.map((s, i) => s.put('race/k', text(`store-${i}`), { ifNoneMatch: '*' })),
    );
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    expectSameBytes((await stores[0]!.get('race/k')).data, text(`store-${winners[0] ?? -1}`));
    // Losers leave no temp files, and every lock was released.
    expect((await tree(root)).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
  });

  test('an abandoned lock file is broken after LOCK_STALE_MS; a live one is waited for', async () => {
    const root = await tempRoot();
    const store = new LocalDirBlobStore(root);
    const lock = new LocalDirLayout(root).lockPath('locked/k');
    await mkdir(path.dirname(lock), { recursive: true });
    await writeFile(lock, '12345 crashed');
    const old = new Date(Date.now() - LOCK_STALE_MS - 1000);
    await utimes(lock, old, old);
    await store.put('locked/k', text('after a crash'));
    expectSameBytes((await store.get('locked/k')).data, text('after a crash'));

    await writeFile(lock, 'live holder');
    const started = Date.now();
    setTimeout(() => void rm(lock, { force: true }), 150);
    await store.put('locked/k', text('after waiting'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expectSameBytes((await store.get('locked/k')).data, text('after waiting'));
  });

  test('delete removes the object and its metadata sidecars', async () => {
    const root = await tempRoot();
    const store = new LocalDirBlobStore(root);
    await store.put('m/k', text('x'), { metadata: { a: '1' } });
    await store.put('m/k', text('y'), { metadata: { a: '2' } });
    const layout = new LocalDirLayout(root);
    expect(await readdir(layout.metadataDir('m/k'))).toHaveLength(1); // the old version's sidecar is gone
    await store.delete('m/k');
    expect(await tree(root)).not.toContain('m/k');
    expect((await tree(root)).filter((f) => f.endsWith('.json'))).toEqual([]);
  });
});
