// One conformance suite for every StateStore adapter (STYLE §7). Each test uses its own table, so a
// failure in one cannot leak rows into another.
import { hasErrorCode } from '../../shared/errors';
import {
  ANY_ETAG,
  MAX_DOCUMENT_CHARS,
  STATE_ERROR,
  type StateDocument,
  type StateStore,
  type StoredEntity,
} from '../../shared/state/stateStore';

export async function expectStateCode(promise: Promise<unknown>, code: string): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  if (!hasErrorCode(caught, code)) {
    throw new Error(
      `expected ${code}, got ${caught === undefined ? 'success' : String((caught as Error).message ?? caught)}`,
    );
  }
}

async function all<T extends StateDocument>(
  store: StateStore,
  table: string,
  pk: string,
  options: Parameters<StateStore['query']>[2] = {},
): Promise<{ items: StoredEntity<T>[]; pages: number }> {
  const items: StoredEntity<T>[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await store.query<T>(table, pk, {
      ...options,
      ...(token ? { continuationToken: token } : {}),
    });
    items.push(...page.items);
    token = page.continuationToken;
    pages += 1;
  } while (token !== undefined);
  return { items, pages };
}

export function describeStateStoreConformance(name: string, factory: () => Promise<StateStore>): void {
  describe(`StateStore conformance: ${name}`, () => {
    let store: StateStore;
    let tables = 0;
    let table: string;

    beforeAll(async () => {
      store = await factory();
    });

    beforeEach(() => {
      tables += 1;
      table = `conf${tables}x${Date.now().toString(36)}`;
    });

    test('insert then get round-trips the document with an ETag; a missing row is undefined', async () => {
      const doc = { name: 'a', n: 2 ** 40, nested: { list: [1, 'two', null] }, flag: true };
      const etag = await store.insert(table, 'p', 'r', doc);
      expect(etag).toEqual(expect.any(String));
      const got = await store.get(table, 'p', 'r');
      expect(got).toEqual({ partitionKey: 'p', rowKey: 'r', etag, value: doc });
      expect(await store.get(table, 'p', 'nope')).toBeUndefined();
      expect(await store.get(table, 'other', 'r')).toBeUndefined();
    });

    test('insert-if-absent: a second insert of the same row is ALREADY_EXISTS and changes nothing', async () => {
      await store.insert(table, 'p', 'r', { v: 1 });
      await expectStateCode(store.insert(table, 'p', 'r', { v: 2 }), STATE_ERROR.ALREADY_EXISTS);
      expect((await store.get(table, 'p', 'r'))?.value).toEqual({ v: 1 });
    });

    test('update-if-match: the current ETag wins and yields a new ETag; a stale one is PRECONDITION_FAILED', async () => {
      const e1 = await store.insert(table, 'p', 'r', { v: 1 });
      const e2 = await store.update(table, 'p', 'r', { v: 2 }, e1);
      expect(e2).not.toBe(e1);
      await expectStateCode(store.update(table, 'p', 'r', { v: 3 }, e1), STATE_ERROR.PRECONDITION_FAILED);
      expect(await store.get(table, 'p', 'r')).toMatchObject({ etag: e2, value: { v: 2 } });
      await expectStateCode(store.update(table, 'p', 'missing', { v: 1 }, e2), STATE_ERROR.NOT_FOUND);
      const e3 = await store.update(table, 'p', 'r', { v: 4 }, ANY_ETAG);
      expect((await store.get(table, 'p', 'r'))?.etag).toBe(e3);
    });

    test('delete-if-match: stale ETag refused, current ETag deletes, then NOT_FOUND', async () => {
      const e1 = await store.insert(table, 'p', 'r', { v: 1 });
      const e2 = await store.update(table, 'p', 'r', { v: 2 }, e1);
      await expectStateCode(store.delete(table, 'p', 'r', e1), STATE_ERROR.PRECONDITION_FAILED);
      expect(await store.get(table, 'p', 'r')).toBeDefined();
      await store.delete(table, 'p', 'r', e2);
      expect(await store.get(table, 'p', 'r')).toBeUndefined();
      await expectStateCode(store.delete(table, 'p', 'r', ANY_ETAG), STATE_ERROR.NOT_FOUND);
    });

    test('upsert inserts or replaces regardless of ETag', async () => {
      const e1 = await store.upsert(table, 'p', 'r', { v: 1 });
      const e2 = await store.upsert(table, 'p', 'r', { v: 2 });
      expect(e2).not.toBe(e1);
      expect((await store.get(table, 'p', 'r'))?.value).toEqual({ v: 2 });
    });

    test('two concurrent writers with the same ETag: exactly one wins', async () => {
      const etag = await store.insert(table, 'p', 'race', { writer: 'none' });
      const writers = ['a', 'b', 'c', 'd'];
      const results = await Promise.allSettled(
        writers.map((w) => store.update(table, 'p', 'race', { writer: w }, etag)),
      );
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [writers[i]] : []));
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected')
          expect(hasErrorCode(r.reason, STATE_ERROR.PRECONDITION_FAILED)).toBe(true);
      }
      expect((await store.get(table, 'p', 'race'))?.value).toEqual({ writer: won[0] });
    });

    test('two concurrent inserts of one row: exactly one wins', async () => {
      const results = await Promise.allSettled([1, 2, 3].map((v) => store.insert(table, 'p', 'once', { v })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });

    test('query pages through a partition in RowKey order with continuation tokens, scoped to the partition', async () => {
      const keys = Array.from({ length: 23 }, (_, i) => `k|${String(i).padStart(3, '0')}`);
      // Insert out of order; the store must hand them back sorted.
      for (const k of [...keys].reverse()) await store.insert(table, 'p', k, { k });
      await store.insert(table, 'q', 'k|000', { k: 'other partition' });
      await store.insert(table, 'p', 'j|999', { k: 'other prefix' });
      await store.insert(table, 'p', 'l|000', { k: 'other prefix' });
      const { items, pages } = await all<{ k: string }>(store, table, 'p', {
        rowKeyPrefix: 'k|',
        pageSize: 5,
      });
      expect(items.map((e) => e.rowKey)).toEqual(keys);
      expect(pages).toBeGreaterThanOrEqual(5);
      const everything = await all(store, table, 'p');
      expect(everything.items.map((e) => e.rowKey)).toEqual(['j|999', ...keys, 'l|000']);
      expect((await store.query(table, 'empty')).items).toEqual([]);
    });

    test('query filters on top-level string fields (AND), including ranges of ISO times', async () => {
      const rows = [
        { id: 'a', status: 'Completed', start: '2024-01-01T00:00:00.000Z' },
        { id: 'b', status: 'Failed', start: '2024-01-02T00:00:00.000Z' },
        { id: 'c', status: 'Completed', start: '2024-01-03T00:00:00.000Z' },
        { id: 'd', start: '2024-01-04T00:00:00.000Z' },
      ];
      for (const r of rows) await store.insert(table, 'p', `job|${r.id}`, r);
      const ids = async (where: Parameters<StateStore['query']>[2]) =>
        (await all<{ id: string }>(store, table, 'p', where)).items.map((e) => e.value.id);
      expect(await ids({ where: [{ field: 'status', op: 'eq', value: 'Completed' }] })).toEqual(['a', 'c']);
      expect(await ids({ where: [{ field: 'status', op: 'ne', value: 'Completed' }] })).toEqual(['b']);
      expect(
        await ids({
          where: [
            { field: 'start', op: 'ge', value: '2024-01-02T00:00:00.000Z' },
            { field: 'start', op: 'lt', value: '2024-01-04T00:00:00.000Z' },
          ],
        }),
      ).toEqual(['b', 'c']);
      // Filtered pages may be short; paging must still visit every match exactly once.
      expect(
        await ids({
          rowKeyPrefix: 'job|',
          pageSize: 1,
          where: [{ field: 'status', op: 'eq', value: 'Completed' }],
        }),
      ).toEqual(['a', 'c']);
      // Values are escaped, not spliced into the filter.
      expect(await ids({ where: [{ field: 'status', op: 'eq', value: "x' or 'a' eq 'a" }] })).toEqual([]);
    });

    test('a transaction applies all of its operations', async () => {
      const e1 = await store.insert(table, 'p', 'counter', { n: '1' });
      await store.insert(table, 'p', 'gone', { x: 1 });
      const etags = await store.transact(table, 'p', [
        { kind: 'insert', rowKey: 'new', value: { a: 1 } },
        { kind: 'update', rowKey: 'counter', value: { n: '2' }, etag: e1 },
        { kind: 'upsert', rowKey: 'up', value: { u: 1 } },
        { kind: 'delete', rowKey: 'gone' },
      ]);
      expect(etags).toHaveLength(4);
      expect((await store.get(table, 'p', 'new'))?.value).toEqual({ a: 1 });
      expect((await store.get(table, 'p', 'counter'))?.value).toEqual({ n: '2' });
      expect((await store.get(table, 'p', 'up'))?.value).toEqual({ u: 1 });
      expect(await store.get(table, 'p', 'gone')).toBeUndefined();
    });

    test('a transaction with one failing operation applies none of them', async () => {
      const e1 = await store.insert(table, 'p', 'counter', { n: '1' });
      await store.update(table, 'p', 'counter', { n: '2' }, e1);
      await expectStateCode(
        store.transact(table, 'p', [
          { kind: 'insert', rowKey: 'new', value: { a: 1 } },
          { kind: 'update', rowKey: 'counter', value: { n: '3' }, etag: e1 },
        ]),
        STATE_ERROR.PRECONDITION_FAILED,
      );
      expect(await store.get(table, 'p', 'new')).toBeUndefined();
      expect((await store.get(table, 'p', 'counter'))?.value).toEqual({ n: '2' });
      await expectStateCode(
        store.transact(table, 'p', [
          { kind: 'upsert', rowKey: 'other', value: { a: 1 } },
          { kind: 'delete', rowKey: 'absent' },
        ]),
        STATE_ERROR.NOT_FOUND,
      );
      expect(await store.get(table, 'p', 'other')).toBeUndefined();
      await store.insert(table, 'p', 'exists', { a: 1 });
      await expectStateCode(
        store.transact(table, 'p', [
          { kind: 'upsert', rowKey: 'other', value: { a: 1 } },
          { kind: 'insert', rowKey: 'exists', value: { a: 2 } },
        ]),
        STATE_ERROR.ALREADY_EXISTS,
      );
      expect(await store.get(table, 'p', 'other')).toBeUndefined();
    });

    test('concurrent transactions on one counter row: exactly one wins', async () => {
      const etag = await store.insert(table, 'p', 'counter', { n: '0' });
      const results = await Promise.allSettled(
        ['a', 'b', 'c'].map((w) =>
          store.transact(table, 'p', [
            { kind: 'insert', rowKey: `item|${w}`, value: { w } },
            { kind: 'update', rowKey: 'counter', value: { n: '1' }, etag },
          ]),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((await all(store, table, 'p', { rowKeyPrefix: 'item|' })).items).toHaveLength(1);
    });

    test('refuses bad keys, oversized documents and oversized or duplicate transactions', async () => {
      for (const key of ['', 'a/b', 'a\\b', 'a#b', 'a?b', 'a\u0001b', 'x'.repeat(513)]) {
        await expectStateCode(store.insert(table, 'p', key, { a: 1 }), STATE_ERROR.INVALID_ARGUMENT);
        await expectStateCode(store.insert(table, key, 'r', { a: 1 }), STATE_ERROR.INVALID_ARGUMENT);
      }
      await expectStateCode(
        store.insert(table, 'p', 'big', { s: 'x'.repeat(MAX_DOCUMENT_CHARS) }),
        STATE_ERROR.INVALID_ARGUMENT,
      );
      const ops = Array.from({ length: 101 }, (_, i) => ({
        kind: 'upsert' as const,
        rowKey: `r${i}`,
        value: {},
      }));
      await expectStateCode(store.transact(table, 'p', ops), STATE_ERROR.INVALID_ARGUMENT);
      await expectStateCode(
        store.transact(table, 'p', [
          { kind: 'upsert', rowKey: 'r', value: {} },
          { kind: 'upsert', rowKey: 'r', value: {} },
        ]),
        STATE_ERROR.INVALID_ARGUMENT,
      );
      await expectStateCode(store.insert('bad-name', 'p', 'r', {}), STATE_ERROR.INVALID_ARGUMENT);
      expect((await store.query(table, 'p')).items).toEqual([]);
    });
  });
}
