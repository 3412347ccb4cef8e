// Copying imported data into a vault (shared/offline/importCopy.ts), on in-memory stores: the write
// order of the plan, exact bytes, skipping what is there, resuming after a crash at every object with
// nothing written twice, and refusing (never overwriting) an object that differs.
import { createHash } from 'node:crypto';
import { FaultyBlobStore } from '../../shared/blob/faultyBlobStore';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { hasErrorCode } from '../../shared/errors';
import { COPY_CHUNK_BYTES, COPY_PHASES, copyImportUnit } from '../../shared/offline/importCopy';
import { OFFLINE_ERROR_CODES } from '../../shared/offline/offlineErrors';
import { prng } from '../helper/offlineEnv';

const PREFIX = 'job-1/';

/** Deterministic bytes from the seeded PRNG: a 32-byte seed expanded with SHA-256 in counter mode. */
function bytes(n: number, rnd: () => number): Uint8Array {
  const seed = Buffer.from(Array.from({ length: 32 }, () => Math.floor(rnd() * 256)));
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; off += 32, i++) {
    createHash('sha256').update(seed).update(String(i)).digest().copy(out, off);
  }
  return out;
}

/** An imported vault: config, a key, packs across prefixes (incl. exactly one chunk, one chunk + 1, empty), index, manifest, point. */
async function imported(seed: number): Promise<{ src: MemBlobStore; objects: Map<string, string> }> {
  const rnd = prng(seed);
  const src = new MemBlobStore();
  const objects = new Map<string, string>();
  const put = async (key: string, data: Uint8Array) => {
    await src.put(PREFIX + key, data);
    objects.set(key, createHash('sha256').update(data).digest('hex'));
  };
  await put('config', Buffer.from('{"format":"strongbox-vault","version":1}'));
  await put(`keys/${'a'.repeat(32)}`, bytes(200, rnd));
  // Boundaries: empty, one byte, exactly one copy chunk, one chunk plus one byte.
  const sizes = [0, 1, 4096, 100_000, 7_000, 300];
  for (let i = 0; i < 40; i++) {
    const id = createHash('md5').update(`p${seed}-${i}`).digest('hex');
    await put(`packs/${id.slice(0, 2)}/${id}`, bytes(sizes[i % sizes.length] ?? 10, rnd));
  }
  for (const [i, size] of [COPY_CHUNK_BYTES, COPY_CHUNK_BYTES + 1].entries()) {
    const id = createHash('md5').update(`big${seed}-${i}`).digest('hex');
    await put(`packs/${id.slice(0, 2)}/${id}`, bytes(size, rnd));
  }
  await put(`index/${'b'.repeat(32)}`, bytes(500, rnd));
  await put(`manifests/${'c'.repeat(32)}`, bytes(300, rnd));
  await put('points/1700000000000-0123456789ab', bytes(100, rnd));
  // Not part of the vault format: never copied.
  await src.put(`${PREFIX}junk/readme`, Buffer.from('x'));
  await src.put('other-job/config', Buffer.from('not ours'));
  return { src, objects };
}

async function contentOf(store: MemBlobStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of store.list('')) {
    out.set(
      e.key,
      createHash('sha256')
        .update((await store.get(e.key)).data)
        .digest('hex'),
    );
  }
  return out;
}

async function copyAll(src: MemBlobStore | FaultyBlobStore, dst: MemBlobStore | FaultyBlobStore) {
  const total = { objectsCopied: 0, objectsSkipped: 0, bytesCopied: 0 };
  for (const phase of COPY_PHASES) {
    // Like the orchestration's fan-out: every unit of a phase runs to its end, then the phase fails.
    const settled = await Promise.allSettled(phase.map((unit) => copyImportUnit(src, PREFIX, dst, unit)));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const r of settled.map(
      (x) => (x as PromiseFulfilledResult<Awaited<ReturnType<typeof copyImportUnit>>>).value,
    )) {
      total.objectsCopied += r.objectsCopied;
      total.objectsSkipped += r.objectsSkipped;
      total.bytesCopied += r.bytesCopied;
    }
  }
  return total;
}

test('the plan covers every pack prefix once, config first and points last', () => {
  const flat = COPY_PHASES.flat(2);
  expect(flat[0]).toBe('config');
  expect(flat[flat.length - 1]).toBe('points/');
  const packs = flat.filter((p) => p.startsWith('packs/'));
  expect(new Set(packs).size).toBe(256);
  expect(COPY_PHASES.findIndex((ph) => ph.flat().includes('index/'))).toBeGreaterThan(
    COPY_PHASES.findIndex((ph) => ph.flat().includes('packs/ff/')),
  );
});

test('copies exactly the vault objects, byte for byte; a second run copies nothing (seed 11)', async () => {
  const { src, objects } = await imported(11);
  const dst = new MemBlobStore();
  const first = await copyAll(src, dst);
  expect(await contentOf(dst)).toEqual(objects);
  expect(first.objectsCopied).toBe(objects.size);
  const again = await copyAll(src, dst);
  expect(again).toEqual({ objectsCopied: 0, objectsSkipped: objects.size, bytesCopied: 0 });
});

test('config and keys already in the vault (from register) are skipped when equal', async () => {
  const { src, objects } = await imported(12);
  const dst = new MemBlobStore();
  await dst.put('config', (await src.get(`${PREFIX}config`)).data);
  await dst.put(`keys/${'a'.repeat(32)}`, (await src.get(`${PREFIX}keys/${'a'.repeat(32)}`)).data);
  const r = await copyAll(src, dst);
  expect(r.objectsSkipped).toBe(2);
  expect(await contentOf(dst)).toEqual(objects);
});

test('another vault is refused, and nothing is overwritten', async () => {
  const { src } = await imported(13);
  const dst = new MemBlobStore();
  await dst.put('config', Buffer.from('{"format":"strongbox-vault","version":9}'));
  const err = await copyImportUnit(src, PREFIX, dst, ['config', 'keys/']).catch((e: unknown) => e);
  expect(hasErrorCode(err, OFFLINE_ERROR_CODES.VAULT_MISMATCH)).toBe(true);
  expect(Buffer.from((await dst.get('config')).data).toString()).toContain('"version":9');
});

test.each([1, 7, 23, 41, 47])(
  'a crash at write %i: the re-run completes, nothing is written twice',
  async (nth) => {
    const { src, objects } = await imported(100 + nth);
    const inner = new MemBlobStore();
    const faulty = new FaultyBlobStore(inner, [
      { ops: ['writer.commit'], nth, maxTimes: 1, fault: { kind: 'transient', when: 'before' } },
    ]);
    await expect(copyAll(src, faulty)).rejects.toMatchObject({ code: 'BLOB.TRANSIENT' });
    const partial = await contentOf(inner);
    // Everything written before the crash is a complete, correct object.
    for (const [k, h] of partial) expect(objects.get(k)).toBe(h);
    const commits: string[] = [];
    const counting = new FaultyBlobStore(inner, []);
    const openWriter = counting.openWriter.bind(counting);
    counting.openWriter = async (key, opts) => {
      commits.push(key);
      return openWriter(key, opts);
    };
    await copyAll(src, counting);
    expect(await contentOf(inner)).toEqual(objects);
    // Only the objects missing after the crash were written by the re-run.
    expect(commits.sort()).toEqual([...objects.keys()].filter((k) => !partial.has(k)).sort());
  },
);
