// TableDurableStore against a real Azurite: an episode commits whole or not at all, ETags stop lost
// updates, large payloads spill to blobs, and odd instance ids survive the key escaping.
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { HistoryEventType, historyEvent } from '../../host/src/durable/history';
import { ConcurrencyError, type InstanceRecord } from '../../host/src/durable/store';
import { TableDurableStore, escapeKey, unescapeKey } from '../../host/src/durable/tableStore';

let azurite: AzuriteInstance;
let store: TableDurableStore;
let hubCounter = 0;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});
beforeEach(async () => {
  store = new TableDurableStore(azurite.connectionString, `StoreTest${++hubCounter}`);
  await store.init();
});

function record(instanceId: string, overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    instanceId,
    name: 'orch',
    runtimeStatus: 'Running',
    input: '{"a":1}',
    output: undefined,
    customStatus: undefined,
    createdTime: '2026-01-01T00:00:00.000Z',
    lastUpdatedTime: '2026-01-01T00:00:00.000Z',
    executionId: 'e1',
    parent: undefined,
    historyStartSeq: 0,
    nextSeq: 1,
    isEntity: false,
    entityState: undefined,
    entityExists: false,
    processedRequestIds: [],
    etag: undefined,
    ...overrides,
  };
}

const started = historyEvent(HistoryEventType.ExecutionStarted, 0, { Name: 'orch', Input: '{"a":1}' });

describe('TableDurableStore', () => {
  it('commits state, history, outbox and inbox changes together and loads them back', async () => {
    const r = record('i1');
    const start = { id: 'm1', kind: 'event' as const, event: started };
    r.etag = await store.commit('i1', {
      record: r,
      isNew: true,
      appendHistory: undefined,
      consumedInbox: [],
      outbox: undefined,
      inboxInsert: [start],
    });
    let snap = await store.load('i1');
    expect(snap.inbox.map((m) => m.id)).toEqual(['m1']);
    await store.commit('i1', {
      record: { ...r, nextSeq: 1 },
      isNew: false,
      appendHistory: { seq: 0, events: [started] },
      consumedInbox: ['m1'],
      outbox: {
        seq: 0,
        messages: [{ target: 'child', message: { id: 'x', kind: 'terminate', reason: 'r' } }],
      },
      inboxInsert: [],
    });
    snap = await store.load('i1');
    expect(snap.inbox).toEqual([]);
    expect(snap.history).toEqual([{ seq: 0, events: [started] }]);
    expect(snap.outbox[0]?.messages[0]?.target).toBe('child');
    expect(snap.record?.input).toBe('{"a":1}');
  });

  it('rejects a stale ETag and applies none of that transaction', async () => {
    const r = record('i2');
    const etag1 = await store.commit('i2', {
      record: r,
      isNew: true,
      appendHistory: undefined,
      consumedInbox: [],
      outbox: undefined,
      inboxInsert: [],
    });
    await store.commit('i2', {
      record: { ...r, etag: etag1, customStatus: '"first"' },
      isNew: false,
      appendHistory: undefined,
      consumedInbox: [],
      outbox: undefined,
      inboxInsert: [],
    });
    await expect(
      store.commit('i2', {
        record: { ...r, etag: etag1, customStatus: '"stale"' },
        isNew: false,
        appendHistory: { seq: 5, events: [started] },
        consumedInbox: [],
        outbox: undefined,
        inboxInsert: [],
      }),
    ).rejects.toBeInstanceOf(ConcurrencyError);
    const snap = await store.load('i2');
    expect(snap.record?.customStatus).toBe('"first"');
    expect(snap.history).toEqual([]);
  });

  it('refuses to create an instance twice', async () => {
    const r = record('i3');
    await store.commit('i3', {
      record: r,
      isNew: true,
      appendHistory: undefined,
      consumedInbox: [],
      outbox: undefined,
      inboxInsert: [],
    });
    await expect(
      store.commit('i3', {
        record: r,
        isNew: true,
        appendHistory: undefined,
        consumedInbox: [],
        outbox: undefined,
        inboxInsert: [],
      }),
    ).rejects.toBeInstanceOf(ConcurrencyError);
  });

  it('spills payloads over the table property limit to blobs and purges them', async () => {
    const big = JSON.stringify('x'.repeat(200_000));
    const r = record('i4', { input: big, output: big });
    await store.commit('i4', {
      record: r,
      isNew: true,
      appendHistory: { seq: 0, events: [historyEvent(HistoryEventType.ExecutionStarted, 0, { Input: big })] },
      consumedInbox: [],
      outbox: undefined,
      inboxInsert: [],
    });
    const snap = await store.load('i4');
    expect(snap.record?.input).toBe(big);
    expect(snap.record?.output).toBe(big);
    expect(snap.history[0]?.events[0]?.Input).toBe(big);
    expect(await store.purge('i4')).toBe(true);
    expect(await store.getRecord('i4')).toBeUndefined();
    expect(await store.purge('i4')).toBe(false);
  });

  it('escapes instance ids with characters Azure Tables forbid in keys', async () => {
    const id = 'vault/a#b?c%d\\e';
    expect(unescapeKey(escapeKey(id))).toBe(id);
    expect(escapeKey(id)).not.toMatch(/[/#?\\]/);
    await store.commit(id, {
      record: record(id),
      isNew: true,
      appendHistory: undefined,
      consumedInbox: [],
      outbox: undefined,
      inboxInsert: [],
    });
    expect((await store.getRecord(id))?.instanceId).toBe(id);
    expect(await store.findInstancesToResume()).toContain(id);
  });

  it('queries instances by status and prefix, with paging', async () => {
    for (let i = 0; i < 7; i++) {
      const status = i % 2 === 0 ? 'Completed' : 'Running';
      await store.commit(`q-${i}`, {
        record: record(`q-${i}`, { runtimeStatus: status }),
        isNew: true,
        appendHistory: undefined,
        consumedInbox: [],
        outbox: undefined,
        inboxInsert: [],
      });
    }
    await store.commit('other', {
      record: record('other', { runtimeStatus: 'Completed' }),
      isNew: true,
      appendHistory: undefined,
      consumedInbox: [],
      outbox: undefined,
      inboxInsert: [],
    });
    const completed: string[] = [];
    let token: string | undefined;
    do {
      const page = await store.queryInstances({
        runtimeStatus: ['Completed'],
        instanceIdPrefix: 'q-',
        top: 2,
        ...(token ? { continuationToken: token } : {}),
      });
      expect(page.records.length).toBeLessThanOrEqual(2);
      completed.push(...page.records.map((r) => r.instanceId));
      token = page.continuationToken;
    } while (token);
    expect(completed.sort()).toEqual(['q-0', 'q-2', 'q-4', 'q-6']);
  });

  it('deletes history rows of earlier executions only', async () => {
    const r = record('i5', { historyStartSeq: 0 });
    await store.commit('i5', {
      record: r,
      isNew: true,
      appendHistory: { seq: 0, events: [started] },
      consumedInbox: [],
      outbox: undefined,
      inboxInsert: [],
    });
    const etag = (await store.getRecord('i5'))?.etag;
    await store.commit('i5', {
      record: { ...r, etag, historyStartSeq: 1, nextSeq: 2 },
      isNew: false,
      appendHistory: { seq: 1, events: [started] },
      consumedInbox: [],
      outbox: undefined,
      inboxInsert: [],
    });
    await store.deleteHistoryBefore('i5', 1);
    const snap = await store.load('i5');
    expect(snap.history.map((h) => h.seq)).toEqual([1]);
  });
});
