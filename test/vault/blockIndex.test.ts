// The compact in-memory index against a Map reference, and its memory per block.
import { createHash } from 'node:crypto';
import { BlockIndex } from '../../shared/vault/blockIndex';

function idOf(n: number): Buffer {
  return createHash('sha256').update(`block-${n}`).digest();
}

test('agrees with a Map on 100,000 entries, keeps the first of duplicates, and misses absent ids', () => {
  const index = new BlockIndex();
  const reference = new Map<string, { packId: string; offset: number; length: number }>();
  for (let n = 0; n < 100_000; n += 1) {
    const entry = {
      packId: (n % 37).toString(16).padStart(32, '0'),
      offset: n * 7,
      length: 1 + (n % 65_000),
    };
    expect(index.add(idOf(n), entry)).toBe(true);
    reference.set(idOf(n).toString('hex'), entry);
  }
  expect(index.add(idOf(5), { packId: 'f'.repeat(32), offset: 1, length: 1 })).toBe(false);
  expect(index.size).toBe(100_000);
  for (let n = 0; n < 100_000; n += 997)
    expect(index.get(idOf(n))).toEqual(reference.get(idOf(n).toString('hex')));
  for (let n = 100_000; n < 101_000; n += 1) expect(index.has(idOf(n))).toBe(false);
  expect(index.packs).toHaveLength(37);
  let visited = 0;
  index.forEach(() => (visited += 1));
  expect(visited).toBe(100_000);
});

test('memory: at most 64 bytes per block after growth (a Map of objects takes ~250)', () => {
  const index = new BlockIndex();
  const n = 1 << 17; // 131,072 entries: just after a doubling, the worst point
  for (let i = 0; i < n; i += 1) index.add(idOf(i), { packId: '0'.repeat(32), offset: i, length: 1 });
  const perBlock = index.bytesAllocated / index.size;
  expect(perBlock).toBeLessThanOrEqual(64);
  expect(perBlock).toBeGreaterThanOrEqual(52);
});
