import { memStateStore } from '../../shared/state/memStateStore';
import type { StateStore } from '../../shared/state/stateStore';
import { queryAll } from '../../shared/state/queryAll';

describe('queryAll', () => {
  it('follows continuation tokens to the last page, in RowKey order, keeping the filters', async () => {
    const store = memStateStore();
    for (let i = 0; i < 7; i++)
      await store.insert('things', 'p', `a${i}`, { n: i, even: i % 2 === 0 ? 'y' : 'n' });
    await store.insert('things', 'p', 'b0', { n: 100, even: 'y' });
    const pages: number[] = [];
    const counting: StateStore = Object.assign(Object.create(store) as StateStore, {
      query: (async (table, pk, options) => {
        const page = await store.query(table, pk, options);
        pages.push(page.items.length);
        return page;
      }) as StateStore['query'],
    });
    const rows = await queryAll<{ n: number }>(counting, 'things', 'p', {
      rowKeyPrefix: 'a',
      where: [{ field: 'even', op: 'eq', value: 'y' }],
      pageSize: 1,
    });
    expect(rows.map((r) => r.value.n)).toEqual([0, 2, 4, 6]);
    expect(pages.length).toBeGreaterThanOrEqual(4);
  });

  it('returns an empty list for an empty result', async () => {
    expect(await queryAll(memStateStore(), 'things', 'p')).toEqual([]);
  });
});
