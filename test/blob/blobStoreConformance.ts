// One conformance suite for every BlobStore adapter (STYLE.md §7; restic internal/backend/test/suite.go).
// Each test gets a fresh, empty store from the factory. Data comes from seeded generators, so a
// failure names its seed and replays.
import { BLOB_ERROR_CODES as CODES } from '../../shared/blob/blobErrors';
import type { BlobStore } from '../../shared/blob/blobStore';
import { readRangeInto } from '../../shared/blob/readRangeInto';
import { seededRandom } from '../../shared/blob/seededRandom';
import { KIB, MIB, collect, expectCode, expectSameBytes, seededBytes, sha256, text } from './blobTestUtils';

export interface ConformanceOptions {
  /** Keys written for the listing test; the adapter's list page size should be smaller. */
  listKeyCount?: number;
  /** Called after each test with the store it used (e.g. to delete an Azure container). */
  dispose?: (store: BlobStore) => Promise<void>;
}

/** Keys that are hard to list in order: '-' and '.' sort before '/', which sorts before digits and '_'. */
const ORDER_TRAPS = ['d/x', 'd-x', 'd.x', 'd0', 'd_x', 'dd', 'd/y/z'];

const INVALID_KEYS = [
  '',
  '/abs',
  '../up',
  'a/../../up',
  'a/./b',
  'a//b',
  'a/',
  'a\\b',
  '..\\up',
  'Upper',
  'a/b.',
  '.hidden',
  'tilde~',
  'nul',
  'sp ace',
  'x'.repeat(1025),
];

export function describeBlobStoreConformance(
  name: string,
  factory: () => Promise<BlobStore>,
  options: ConformanceOptions = {},
): void {
  const listKeyCount = options.listKeyCount ?? 250;

  describe(`BlobStore conformance: ${name}`, () => {
    let store: BlobStore;

    beforeEach(async () => {
      store = await factory();
    });

    afterEach(async () => {
      await options.dispose?.(store);
    });

    test('round-trips an empty and a 1-byte object, with matching etags from put, get and stat', async () => {
      for (const [key, data] of [
        ['rt/empty', new Uint8Array(0)],
        ['rt/one', Uint8Array.of(0xa5)],
      ] as const) {
        const { etag } = await store.put(key, data);
        const got = await store.get(key);
        expectSameBytes(got.data, data, key);
        expect(got.etag).toBe(etag);
        expect(got.metadata).toEqual({});
        expect(await store.stat(key)).toEqual({ size: data.byteLength, etag, metadata: {} });
      }
    });

    test('stores a copy: reusing the caller buffer after put or write, or mutating what get returned, changes nothing', async () => {
      const buf = Buffer.alloc(1024, 7);
      await store.put('copy/put', buf);
      buf.fill(9);
      const writer = await store.openWriter('copy/writer');
      const chunk = Buffer.alloc(512, 1);
      await writer.write(chunk);
      chunk.fill(2);
      await writer.write(chunk);
      await writer.commit();
      const got = await store.get('copy/put');
      expectSameBytes(got.data, new Uint8Array(1024).fill(7), 'copy/put');
      got.data.fill(0);
      expectSameBytes((await store.get('copy/put')).data, new Uint8Array(1024).fill(7), 'copy/put again');
      const written = (await store.get('copy/writer')).data;
      expectSameBytes(written.subarray(0, 512), new Uint8Array(512).fill(1), 'first chunk');
      expectSameBytes(written.subarray(512), new Uint8Array(512).fill(2), 'second chunk');
    });

    test('a missing key: get and getRange are NOT_FOUND, stat is undefined', async () => {
      await expectCode(store.get('missing/key'), CODES.NOT_FOUND);
      await expectCode(store.getRange('missing/key', 0, 1), CODES.NOT_FOUND);
      await expectCode(store.getRange('missing/key', 0, 0), CODES.NOT_FOUND);
      expect(await store.stat('missing/key')).toBeUndefined();
    });

    test('the etag changes on every write, even of identical bytes', async () => {
      const a = await store.put('etag/k', text('same'));
      const b = await store.put('etag/k', text('same'));
      expect(b.etag).not.toBe(a.etag);
      expect((await store.stat('etag/k'))?.etag).toBe(b.etag);
    });

    test('bytes are copied in and out: caller buffers never alias stored data', async () => {
      const data = text('original');
      await store.put('alias/k', data);
      data.fill(0);
      const got = await store.get('alias/k');
      got.data.fill(0);
      expectSameBytes((await store.get('alias/k')).data, text('original'));
    });

    test('streams 12 MiB through openWriter in uneven chunks (1 MiB blocks) and reads it back exactly', async () => {
      const seed = 12;
      const data = seededBytes(12 * MIB, seed);
      const writer = await store.openWriter('large/pack', { blockSizeBytes: MIB, maxBlocksInFlight: 3 });
      const chunkSizes = [1, MIB - 1, MIB + 7, 3 * MIB, 333 * KIB];
      let at = 0;
      for (let i = 0; at < data.byteLength; i += 1) {
        const size = Math.min(chunkSizes[i % chunkSizes.length] ?? MIB, data.byteLength - at);
        await writer.write(data.subarray(at, at + size));
        at += size;
      }
      expect(writer.bytesWritten).toBe(data.byteLength);
      const { etag } = await writer.commit();
      const stat = await store.stat('large/pack');
      expect(stat).toEqual({ size: data.byteLength, etag, metadata: {} });
      const got = await store.get('large/pack');
      expect(sha256(got.data)).toBe(sha256(data)); // seed 12
      // Ranges across block boundaries.
      for (const [offset, length] of [
        [MIB - 3, 6],
        [5 * MIB - 1, 2 * MIB + 2],
        [12 * MIB - 1, 1],
      ] as const) {
        expectSameBytes(
          await store.getRange('large/pack', offset, length),
          data.subarray(offset, offset + length),
          `range ${offset}+${length} (seed ${seed})`,
        );
      }
    });

    test('writer boundaries: zero bytes, exactly one block, one block plus one byte', async () => {
      const block = 64 * KIB;
      for (const size of [0, block, block + 1]) {
        const key = `wb/${size}`;
        const data = seededBytes(size, size);
        const writer = await store.openWriter(key, { blockSizeBytes: block });
        if (size > 0) await writer.write(data);
        await writer.commit();
        expectSameBytes((await store.get(key)).data, data, key);
      }
    });

    test('getRange returns exact bytes and refuses any byte past the end', async () => {
      const data = seededBytes(1000, 7);
      await store.put('range/k', data);
      expectSameBytes(await store.getRange('range/k', 0, 1), data.subarray(0, 1), 'first byte');
      expectSameBytes(await store.getRange('range/k', 999, 1), data.subarray(999), 'last byte');
      expectSameBytes(await store.getRange('range/k', 0, 1000), data, 'whole');
      expectSameBytes(await store.getRange('range/k', 123, 456), data.subarray(123, 579), 'middle');
      expect((await store.getRange('range/k', 1000, 0)).byteLength).toBe(0);
      await expectCode(store.getRange('range/k', 999, 2), CODES.INVALID_RANGE);
      await expectCode(store.getRange('range/k', 0, 1001), CODES.INVALID_RANGE);
      await expectCode(store.getRange('range/k', 1000, 1), CODES.INVALID_RANGE);
      await expectCode(store.getRange('range/k', 1001, 0), CODES.INVALID_RANGE);
      await expectCode(store.getRange('range/k', -1, 1), CODES.INVALID_RANGE);
      await expectCode(store.getRange('range/k', 0.5, 1), CODES.INVALID_RANGE);
    });

    test('readRangeInto (getRangeInto or its fallback) fills the caller buffer, boundaries included', async () => {
      const data = seededBytes(1000, 8);
      await store.put('into/k', data);
      const into = new Uint8Array(new SharedArrayBuffer(1024)); // the restore path lends shared buffers
      for (const [offset, length] of [
        [0, 1],
        [999, 1],
        [0, 1000],
        [123, 456],
        [1000, 0],
      ] as const) {
        into.fill(0xa5);
        const got = await readRangeInto(store, 'into/k', offset, length, into);
        expect(got.buffer).toBe(into.buffer); // a view of the lent buffer, nothing allocated for the bytes
        expect(got.byteOffset).toBe(0);
        expectSameBytes(got, data.subarray(offset, offset + length), `range ${offset}+${length} (seed 8)`);
        expect(into[length]).toBe(0xa5); // nothing written past the range
      }
      // Exactly as long as the range: fine; one byte short: INVALID_ARGUMENT, before any I/O.
      expectSameBytes(await readRangeInto(store, 'into/k', 1, 999, new Uint8Array(999)), data.subarray(1));
      await expectCode(readRangeInto(store, 'into/k', 0, 1000, new Uint8Array(999)), CODES.INVALID_ARGUMENT);
      await expectCode(readRangeInto(store, 'into/k', 999, 2, into), CODES.INVALID_RANGE);
      await expectCode(readRangeInto(store, 'into/k', 1001, 0, into), CODES.INVALID_RANGE);
      await expectCode(readRangeInto(store, 'into/k', -1, 1, into), CODES.INVALID_RANGE);
      await expectCode(readRangeInto(store, 'into/missing', 0, 1, into), CODES.NOT_FOUND);
      // The adapter keeps no reference: reusing the buffer does not change what is stored.
      into.fill(0);
      expectSameBytes(await store.getRange('into/k', 0, 1000), data, 'stored bytes after reuse');
    });

    test('ifNoneMatch twice: ALREADY_EXISTS, and the first value stays intact', async () => {
      const first = await store.put('inm/k', text('first'), { ifNoneMatch: '*' });
      await expectCode(store.put('inm/k', text('second'), { ifNoneMatch: '*' }), CODES.ALREADY_EXISTS);
      const got = await store.get('inm/k');
      expectSameBytes(got.data, text('first'));
      expect(got.etag).toBe(first.etag);
    });

    test('ifMatch: the current etag wins; a stale or missing one is PRECONDITION_FAILED', async () => {
      const v1 = await store.put('im/k', text('v1'));
      const v2 = await store.put('im/k', text('v2'), { ifMatch: v1.etag });
      await expectCode(store.put('im/k', text('v3'), { ifMatch: v1.etag }), CODES.PRECONDITION_FAILED);
      const got = await store.get('im/k');
      expectSameBytes(got.data, text('v2'));
      expect(got.etag).toBe(v2.etag);
      await expectCode(store.put('im/missing', text('x'), { ifMatch: v2.etag }), CODES.PRECONDITION_FAILED);
      expect(await store.stat('im/missing')).toBeUndefined();
      await expectCode(
        store.put('im/k', text('x'), { ifMatch: v2.etag, ifNoneMatch: '*' }),
        CODES.INVALID_ARGUMENT,
      );
      await expectCode(store.put('im/k', text('x'), { ifMatch: '*' }), CODES.INVALID_ARGUMENT);
    });

    test('delete: idempotent without ifMatch; with ifMatch only the current etag deletes', async () => {
      const v1 = await store.put('del/k', text('v1'));
      const v2 = await store.put('del/k', text('v2'));
      await expectCode(store.delete('del/k', { ifMatch: v1.etag }), CODES.PRECONDITION_FAILED);
      expectSameBytes((await store.get('del/k')).data, text('v2'));
      expect(await store.delete('del/k', { ifMatch: v2.etag })).toEqual({ deleted: true });
      expect(await store.stat('del/k')).toBeUndefined();
      expect(await store.delete('del/k')).toEqual({ deleted: false });
      await expectCode(store.delete('del/k', { ifMatch: v2.etag }), CODES.PRECONDITION_FAILED);
      await store.put('del/k2', text('x'));
      expect(await store.delete('del/k2')).toEqual({ deleted: true });
      await expectCode(store.get('del/k2'), CODES.NOT_FOUND);
    });

    test(`lists ${listKeyCount} keys by prefix in key order, with sizes and etags`, async () => {
      const seed = 42;
      const random = seededRandom(seed);
      const keys = [...ORDER_TRAPS.map((k) => `lst/${k}`)];
      for (let i = 0; keys.length < listKeyCount; i += 1)
        keys.push(`lst/${Math.floor(random() * 0xffffff).toString(16)}/${i}`);
      const shuffled = [...keys].sort(() => random() - 0.5);
      const etags = new Map<string, string>();
      for (let i = 0; i < shuffled.length; i += 16) {
        await Promise.all(
          shuffled.slice(i, i + 16).map(async (key) => {
            etags.set(key, (await store.put(key, text(key))).etag);
          }),
        );
      }
      await store.put('lst-outside', text('x'));
      await store.put('lss/outside', text('x'));

      const listed = await collect(store.list('lst/'));
      const expected = [...keys].sort();
      expect(listed.map((e) => e.key)).toEqual(expected); // seed 42
      for (const entry of listed) {
        expect(entry.size).toBe(entry.key.length);
        expect(entry.etag).toBe(etags.get(entry.key));
      }
      expect((await collect(store.list('lst/d'))).map((e) => e.key)).toEqual(
        expected.filter((k) => k.startsWith('lst/d')),
      );
      expect((await collect(store.list(''))).map((e) => e.key)).toEqual(
        [...expected, 'lst-outside', 'lss/outside'].sort(),
      );
      expect(await collect(store.list('none/'))).toEqual([]);
      // An etag from list works as an ifMatch.
      const first = listed[0];
      if (!first) throw new Error('empty listing');
      await store.put(first.key, text('changed'), { ifMatch: first.etag });
    });

    test('metadata round-trips through put, stat, get and the writer; an overwrite replaces it', async () => {
      const metadata = { codec: 'zstd-1', format_version: '1', note: 'a b=c;d' };
      await store.put('meta/k', text('x'), { metadata });
      expect((await store.get('meta/k')).metadata).toEqual(metadata);
      expect((await store.stat('meta/k'))?.metadata).toEqual(metadata);
      await store.put('meta/k', text('y'));
      expect((await store.get('meta/k')).metadata).toEqual({});
      const writer = await store.openWriter('meta/w', { metadata: { pack: 'p1' } });
      await writer.write(text('w'));
      await writer.commit();
      expect((await store.stat('meta/w'))?.metadata).toEqual({ pack: 'p1' });
    });

    test('metadata outside the portable subset is refused before anything is written', async () => {
      await expectCode(
        store.put('meta/bad', text('x'), { metadata: { Upper: 'x' } }),
        CODES.INVALID_ARGUMENT,
      );
      await expectCode(
        store.put('meta/bad', text('x'), { metadata: { ok: ' padded' } }),
        CODES.INVALID_ARGUMENT,
      );
      await expectCode(store.put('meta/bad', text('x'), { metadata: { ok: 'é' } }), CODES.INVALID_ARGUMENT);
      await expectCode(
        store.put('meta/bad', text('x'), { metadata: { big: 'x'.repeat(8 * KIB) } }),
        CODES.LIMIT_EXCEEDED,
      );
      expect(await store.stat('meta/bad')).toBeUndefined();
    });

    test('an aborted writer leaves nothing visible, and the key stays free', async () => {
      const writer = await store.openWriter('abort/k', { blockSizeBytes: 64 * KIB });
      await writer.write(seededBytes(200 * KIB, 3)); // three blocks staged, one buffered
      await writer.abort();
      await writer.abort();
      expect(await store.stat('abort/k')).toBeUndefined();
      await expectCode(store.get('abort/k'), CODES.NOT_FOUND);
      expect(await collect(store.list('abort/'))).toEqual([]);
      await expectCode(writer.commit(), CODES.INVALID_ARGUMENT);
      await expectCode(writer.write(text('x')), CODES.INVALID_ARGUMENT);
      await store.put('abort/k', text('fresh'), { ifNoneMatch: '*' });
      expectSameBytes((await store.get('abort/k')).data, text('fresh'));
    });

    test('a writer checks its conditions at commit and leaves the old value on failure', async () => {
      const old = await store.put('wc/k', text('old'));
      const w1 = await store.openWriter('wc/k', { ifNoneMatch: '*' });
      await w1.write(text('new'));
      await expectCode(w1.commit(), CODES.ALREADY_EXISTS);
      const w2 = await store.openWriter('wc/k', { ifMatch: '"stale"' });
      await w2.write(text('new'));
      await expectCode(w2.commit(), CODES.PRECONDITION_FAILED);
      await w1.abort();
      await w2.abort();
      const got = await store.get('wc/k');
      expectSameBytes(got.data, text('old'));
      expect(got.etag).toBe(old.etag);
      const w3 = await store.openWriter('wc/k', { ifMatch: old.etag });
      await w3.write(text('newer'));
      const { etag } = await w3.commit();
      await w3.abort(); // a no-op after commit
      expect(await store.stat('wc/k')).toEqual({ size: 5, etag, metadata: {} });
      await expectCode(w3.write(text('more')), CODES.INVALID_ARGUMENT);
    });

    test('8 concurrent ifNoneMatch puts: exactly one wins and its bytes are stored', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => store.put('race/put', text(`caller-${i}`), { ifNoneMatch: '*' })),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe(CODES.ALREADY_EXISTS);
      expectSameBytes((await store.get('race/put')).data, text(`caller-${winners[0] ?? -1}`));
    });

    test('8 concurrent ifNoneMatch writers of multi-block objects: exactly one wins, bytes unmixed', async () => {
      const block = 16 * KIB;
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, async (_, i) => {
          const writer = await store.openWriter('race/writer', { ifNoneMatch: '*', blockSizeBytes: block });
          try {
            await writer.write(seededBytes(3 * block + 5, 100 + i));
            return await writer.commit();
          } finally {
            await writer.abort();
          }
        }),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe(CODES.ALREADY_EXISTS);
      const winner = winners[0] ?? -1;
      expectSameBytes(
        (await store.get('race/writer')).data,
        seededBytes(3 * block + 5, 100 + winner),
        'winner',
      );
    });

    test('refuses invalid keys in every operation', async () => {
      for (const key of INVALID_KEYS) {
        await expectCode(store.put(key, text('x')), CODES.INVALID_KEY);
        await expectCode(store.get(key), CODES.INVALID_KEY);
        await expectCode(store.getRange(key, 0, 1), CODES.INVALID_KEY);
        await expectCode(store.stat(key), CODES.INVALID_KEY);
        await expectCode(store.delete(key), CODES.INVALID_KEY);
        await expectCode(store.openWriter(key), CODES.INVALID_KEY);
      }
      for (const prefix of ['../', '/', 'a//', 'A', 'a\\'])
        await expectCode(collect(store.list(prefix)), CODES.INVALID_KEY);
      expect(await collect(store.list(''))).toEqual([]);
    });

    test('refuses bad writer options', async () => {
      await expectCode(store.openWriter('wo/k', { blockSizeBytes: 0 }), CODES.INVALID_ARGUMENT);
      await expectCode(store.openWriter('wo/k', { blockSizeBytes: 4001 * MIB }), CODES.INVALID_ARGUMENT);
      await expectCode(store.openWriter('wo/k', { maxBlocksInFlight: 0 }), CODES.INVALID_ARGUMENT);
      const writer = await store.openWriter('wo/k');
      const first = writer.write(text('a'));
      await expectCode(writer.write(text('b')), CODES.INVALID_ARGUMENT); // overlapping call
      await first.catch(() => undefined);
      await writer.abort();
    });
  });
}
