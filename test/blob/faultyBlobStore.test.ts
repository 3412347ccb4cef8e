// The fault-injecting wrapper produces each fault it promises, deterministically from its seed,
// and the retrying wrapper recovers from transient ones (and only those).
import { BLOB_ERROR_CODES as CODES } from '../../shared/blob/blobErrors';
import { FaultyBlobStore, type FaultRule } from '../../shared/blob/faultyBlobStore';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { RetryingBlobStore, type RetryEvent } from '../../shared/blob/retryingBlobStore';
import { collect, expectCode, expectSameBytes, seededBytes, text } from './blobTestUtils';

async function seeded(rules: FaultRule[], seed = 7) {
  const inner = new MemBlobStore();
  await inner.put('k/one', seededBytes(4096, 1));
  return { inner, faulty: new FaultyBlobStore(inner, rules, seed) };
}

describe('faultyBlobStore', () => {
  test('transient before: the call fails and nothing is written', async () => {
    const { inner, faulty } = await seeded([{ ops: ['put'], fault: { kind: 'transient' } }]);
    await expectCode(faulty.put('k/two', text('x')), CODES.TRANSIENT);
    expect(await inner.stat('k/two')).toBeUndefined();
    expect(faulty.injected).toEqual([{ op: 'put', key: 'k/two', kind: 'transient', call: 1 }]);
  });

  test('transient after: the write lands but the caller sees TRANSIENT', async () => {
    const { inner, faulty } = await seeded([{ ops: ['put'], fault: { kind: 'transient', when: 'after' } }]);
    await expectCode(faulty.put('k/two', text('x')), CODES.TRANSIENT);
    expectSameBytes((await inner.get('k/two')).data, text('x'));
  });

  test('precondition failure', async () => {
    const { faulty } = await seeded([{ ops: ['put', 'delete'], fault: { kind: 'preconditionFailed' } }]);
    await expectCode(faulty.put('k/one', text('x')), CODES.PRECONDITION_FAILED);
    await expectCode(faulty.delete('k/one'), CODES.PRECONDITION_FAILED);
  });

  test('truncated read drops the last bytes of get and getRange', async () => {
    const { faulty } = await seeded([
      { ops: ['get', 'getRange'], fault: { kind: 'truncatedRead', dropBytes: 3 } },
    ]);
    const full = seededBytes(4096, 1);
    expectSameBytes((await faulty.get('k/one')).data, full.subarray(0, 4093));
    expectSameBytes(await faulty.getRange('k/one', 100, 10), full.subarray(100, 107));
  });

  test('flipped bit: exactly one bit differs, at a position fixed by the seed', async () => {
    const full = seededBytes(4096, 1);
    const flippedAt = async (seed: number) => {
      const { faulty } = await seeded([{ ops: ['get'], fault: { kind: 'flipBit' } }], seed);
      const data = (await faulty.get('k/one')).data;
      const diffs = [...data].flatMap((b, i) => (b !== full[i] ? [{ i, xor: b ^ (full[i] ?? 0) }] : []));
      expect(diffs).toHaveLength(1);
      expect([1, 2, 4, 8, 16, 32, 64, 128]).toContain(diffs[0]?.xor);
      return diffs[0]?.i;
    };
    expect(await flippedAt(11)).toBe(await flippedAt(11));
    const { faulty } = await seeded([{ ops: ['getRange'], fault: { kind: 'flipBit', bitIndex: 9 } }]);
    const range = await faulty.getRange('k/one', 0, 4);
    expect(range[1]).toBe((full[1] ?? 0) ^ 0b10);
  });

  test('getRangeInto fires the getRange rules: a short view, a bit flipped in the caller buffer', async () => {
    const full = seededBytes(4096, 1);
    const { inner, faulty } = await seeded([
      { ops: ['getRange'], nth: 1, fault: { kind: 'truncatedRead', dropBytes: 3 } },
      { ops: ['getRange'], nth: 2, fault: { kind: 'flipBit', bitIndex: 9 } },
    ]);
    const into = new Uint8Array(64);
    const short = await faulty.getRangeInto('k/one', 100, 10, into);
    expect(short.buffer).toBe(into.buffer);
    expectSameBytes(short, full.subarray(100, 107));
    const flipped = await faulty.getRangeInto('k/one', 0, 4, into);
    expect(flipped.buffer).toBe(into.buffer);
    expect(into[1]).toBe((full[1] ?? 0) ^ 0b10);
    expectSameBytes(await inner.getRange('k/one', 0, 4), full.subarray(0, 4), 'stored bytes untouched');
    expect(faulty.injected.map((f) => `${f.op}:${f.kind}`)).toEqual([
      'getRange:truncatedRead',
      'getRange:flipBit',
    ]);
  });

  test('delay postpones the call', async () => {
    const { faulty } = await seeded([{ ops: ['stat'], fault: { kind: 'delay', ms: 60 } }]);
    const started = Date.now();
    expect(await faulty.stat('k/one')).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  test('nth call, key pattern and maxTimes select which calls fail', async () => {
    const { faulty } = await seeded([
      { ops: ['stat'], keyPattern: /^k\/one$/, nth: 2, fault: { kind: 'transient' } },
      { ops: ['get'], maxTimes: 1, fault: { kind: 'transient' } },
    ]);
    expect(await faulty.stat('k/other')).toBeUndefined(); // pattern does not match: not counted
    expect(await faulty.stat('k/one')).toBeDefined();
    await expectCode(faulty.stat('k/one'), CODES.TRANSIENT);
    expect(await faulty.stat('k/one')).toBeDefined();
    await expectCode(faulty.get('k/one'), CODES.TRANSIENT);
    await faulty.get('k/one');
  });

  test('probability draws from the seed: the same seed gives the same failures', async () => {
    const pattern = async (seed: number) => {
      const { faulty } = await seeded(
        [{ ops: ['stat'], probability: 0.3, fault: { kind: 'transient' } }],
        seed,
      );
      const outcomes: string[] = [];
      for (let i = 0; i < 200; i += 1)
        outcomes.push(
          await faulty.stat('k/one').then(
            () => '.',
            () => 'x',
          ),
        );
      return outcomes.join('');
    };
    const a = await pattern(99);
    expect(await pattern(99)).toBe(a);
    expect(await pattern(100)).not.toBe(a);
    const failures = [...a].filter((c) => c === 'x').length;
    expect(failures).toBeGreaterThan(30); // 200 × 0.3 = 60 expected (seed 99)
    expect(failures).toBeLessThan(90);
  });

  test('writer faults: a failed write or commit leaves the writer failed and nothing visible', async () => {
    const { inner, faulty } = await seeded([{ ops: ['writer.write'], nth: 2, fault: { kind: 'transient' } }]);
    const writer = await faulty.openWriter('w/k');
    await writer.write(text('a'));
    await expectCode(writer.write(text('b')), CODES.TRANSIENT);
    await expectCode(writer.commit(), CODES.INVALID_ARGUMENT);
    await writer.abort();
    expect(await inner.stat('w/k')).toBeUndefined();

    faulty.clearRules();
    faulty.addRule({ ops: ['writer.commit'], fault: { kind: 'transient', when: 'after' } });
    const w2 = await faulty.openWriter('w/k2');
    await w2.write(text('landed'));
    await expectCode(w2.commit(), CODES.TRANSIENT); // an ambiguous commit: it did land
    expectSameBytes((await inner.get('w/k2')).data, text('landed'));
  });

  test('list interrupted mid-way, and describe() names the seed for failure messages', async () => {
    const inner = new MemBlobStore();
    for (let i = 0; i < 10; i += 1) await inner.put(`l/${i}`, text(String(i)));
    const faulty = new FaultyBlobStore(
      inner,
      [{ ops: ['list'], fault: { kind: 'transient', when: 'after', afterItems: 4 } }],
      5,
    );
    const seen: string[] = [];
    await expectCode(
      (async () => {
        for await (const e of faulty.list('l/')) seen.push(e.key);
      })(),
      CODES.TRANSIENT,
    );
    expect(seen).toEqual(['l/0', 'l/1', 'l/2', 'l/3']);
    expect(faulty.describe()).toBe('FaultyBlobStore seed=5; injected: list(l/)#1:transient');
  });
});

describe('retryingBlobStore', () => {
  const fast = { sleep: () => Promise.resolve(), random: () => 0.5 };

  test('recovers from transient faults on every operation', async () => {
    const { faulty } = await seeded([{ maxTimes: 100, probability: 0.5, fault: { kind: 'transient' } }], 3);
    const events: RetryEvent[] = [];
    const store = new RetryingBlobStore(faulty, { ...fast, maxAttempts: 20, onRetry: (e) => events.push(e) });
    await store.put('r/k', text('v'));
    expectSameBytes((await store.get('r/k')).data, text('v'));
    expectSameBytes(await store.getRange('r/k', 0, 1), text('v'));
    expect(await store.stat('r/k')).toBeDefined();
    expect((await collect(store.list('r/'))).map((e) => e.key)).toEqual(['r/k']);
    expect(await store.delete('r/k')).toEqual({ deleted: true });
    expect(events.length).toBeGreaterThan(0); // seed 3: faults did fire
    expect(events.length).toBe(faulty.injected.length);
  });

  test('gives up after maxAttempts with the TRANSIENT error, backing off exponentially with jitter', async () => {
    const { faulty } = await seeded([{ ops: ['get'], fault: { kind: 'transient' } }]);
    const delays: number[] = [];
    const store = new RetryingBlobStore(faulty, {
      maxAttempts: 4,
      baseDelayMs: 100,
      maxDelayMs: 300,
      random: () => 1,
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
    });
    await expectCode(store.get('k/one'), CODES.TRANSIENT);
    expect(faulty.injected).toHaveLength(4);
    expect(delays).toEqual([100, 200, 300]);
  });

  test('does not retry answers: NOT_FOUND, PRECONDITION_FAILED, ALREADY_EXISTS', async () => {
    const { faulty } = await seeded([{ ops: ['put'], fault: { kind: 'preconditionFailed' } }]);
    const store = new RetryingBlobStore(faulty, fast);
    await expectCode(store.put('k/one', text('x')), CODES.PRECONDITION_FAILED);
    await expectCode(store.get('k/missing'), CODES.NOT_FOUND);
    expect(faulty.injected).toHaveLength(1);
  });

  test('a lost answer to an ifNoneMatch put is retried and meets itself: ALREADY_EXISTS (documented)', async () => {
    const { inner, faulty } = await seeded([
      { ops: ['put'], nth: 1, fault: { kind: 'transient', when: 'after' } },
    ]);
    const store = new RetryingBlobStore(faulty, fast);
    await expectCode(store.put('k/new', text('mine'), { ifNoneMatch: '*' }), CODES.ALREADY_EXISTS);
    expectSameBytes((await inner.get('k/new')).data, text('mine'));
  });

  test('an interrupted list resumes after the last key it yielded, without duplicates', async () => {
    const inner = new MemBlobStore();
    for (let i = 0; i < 10; i += 1) await inner.put(`l/${i}`, text(String(i)));
    const faulty = new FaultyBlobStore(inner, [
      { ops: ['list'], nth: 1, fault: { kind: 'transient', when: 'after', afterItems: 3 } },
      { ops: ['list'], nth: 2, fault: { kind: 'transient', when: 'after', afterItems: 7 } },
    ]);
    const keys = (await collect(new RetryingBlobStore(faulty, fast).list('l/'))).map((e) => e.key);
    expect(keys).toEqual(Array.from({ length: 10 }, (_, i) => `l/${i}`));
  });
});
