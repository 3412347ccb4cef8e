// Helper events (shared/offline/helperEvents.ts) on the in-memory state store: a backup event applied
// once however often it is delivered (in sequence or concurrently), a delivery that crashed half-way is
// finished by the next one without a second job or point, and an event the data plane does not back up
// is refused.
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { createControlPlane } from '../../shared/controlPlane/controlPlane';
import { uuidV7 } from '../../shared/controlPlane/controlPlanePorts';
import { hasErrorCode } from '../../shared/errors';
import { applyHelperEvent, eventKeyOf, type HelperEventDeps } from '../../shared/offline/helperEvents';
import { OFFLINE_ERROR_CODES } from '../../shared/offline/offlineErrors';
import { offlineStore } from '../../shared/offline/offlineStore';
import { memStateStore } from '../../shared/state/memStateStore';

const SUB = 'sub-ev';
const VAULT = 'v1';
const POINT = '1700000000000-0123456789ab';

async function setup() {
  const state = memStateStore();
  let t = Date.parse('2025-01-01T00:00:00Z');
  let n = 0;
  const clock = { now: () => new Date(t) };
  const cp = createControlPlane({
    store: state,
    clock,
    ids: { timeOrdered: (d) => uuidV7(d, Buffer.alloc(10, ++n)), vaultId: () => 'a'.repeat(32) },
  });
  await cp.vaults.put(SUB, VAULT, { location: 'westeurope' });
  await cp.items.register(SUB, VAULT, { name: 'files', sourceId: 'x', friendlyName: 'x' });
  await cp.items.apply(SUB, VAULT, 'files', { kind: 'configureProtection', policyName: 'DefaultPolicy' });
  const store = offlineStore(state);
  await store.insertServer({
    serverName: 'srv',
    subscriptionId: SUB,
    vaultName: VAULT,
    vaultId: 'a'.repeat(32),
    serverId: 'b'.repeat(32),
    registrationId: 'c'.repeat(32),
    registeredTime: clock.now().toISOString(),
    registeredBy: 'me',
    sources: { files: { kind: 'directoryTree', path: '/data' } },
  });
  const vault = new MemBlobStore();
  await vault.put(`points/${POINT}`, Buffer.from('sealed point'));
  const deps: HelperEventDeps = { cp, store, serverVault: () => vault, now: () => new Date(t) };
  const event = {
    v: 1,
    id: `backup:${'b'.repeat(32)}:${POINT}`,
    kind: 'backupCompleted',
    subscriptionId: SUB,
    vaultName: VAULT,
    serverName: 'srv',
    sentTime: '2025-01-01T00:00:00.000Z',
    data: {
      itemName: 'files',
      pointId: POINT,
      pointTime: '2023-11-14T22:13:20.000Z',
      sourceKind: 'directoryTree',
      bytesRead: 10,
      bytesUploaded: 5,
    },
  };
  const counts = async () => ({
    jobs: (await cp.jobs.list(SUB, VAULT, { operation: 'Backup' }, { top: 100 })).value.length,
    points: (await cp.recoveryPoints.list(SUB, VAULT, 'files', { top: 100 })).value.length,
  });
  return { deps, event, counts, store, advance: (ms: number) => (t += ms), cp };
}

test('delivered three times, in sequence: one job, one recovery point, the item Protected', async () => {
  const { deps, event, counts, cp } = await setup();
  expect((await applyHelperEvent(deps, event)).applied).toBe(true);
  expect((await applyHelperEvent(deps, event)).applied).toBe(false);
  expect((await applyHelperEvent(deps, event)).applied).toBe(false);
  expect(await counts()).toEqual({ jobs: 1, points: 1 });
  expect((await cp.items.get(SUB, VAULT, 'files')).properties.protectionState).toBe('Protected');
});

test('delivered twice at once: one applies, the other is told to retry, and then does nothing', async () => {
  const { deps, event, counts } = await setup();
  const both = await Promise.allSettled([applyHelperEvent(deps, event), applyHelperEvent(deps, event)]);
  const done = both.filter((r) => r.status === 'fulfilled' && r.value.applied);
  expect(done).toHaveLength(1);
  for (const r of both) {
    if (r.status === 'rejected')
      expect(hasErrorCode(r.reason, OFFLINE_ERROR_CODES.EVENT_IN_PROGRESS)).toBe(true);
  }
  expect((await applyHelperEvent(deps, event)).applied).toBe(false);
  expect(await counts()).toEqual({ jobs: 1, points: 1 });
});

test('a delivery that crashed after creating the job is finished by the next one, reusing the job', async () => {
  const { deps, event, counts, store, advance } = await setup();
  // The first delivery claimed the event and created its job, then died.
  const key = eventKeyOf(event.id);
  await store.claimEvent(key, event.id, deps.now(), 1);
  const job = await deps.cp.jobs.start(SUB, VAULT, { operation: 'Backup', itemName: 'files' });
  await store.updateEvent(key, {
    id: event.id,
    state: 'processing',
    claimedTime: deps.now().toISOString(),
    jobId: job.name,
  });
  // A redelivery while the claim is fresh waits; once it is stale it takes over.
  await expect(applyHelperEvent(deps, event)).rejects.toMatchObject({
    code: OFFLINE_ERROR_CODES.EVENT_IN_PROGRESS,
  });
  advance(16 * 60 * 1000);
  expect((await applyHelperEvent(deps, event)).applied).toBe(true);
  expect(await counts()).toEqual({ jobs: 1, points: 1 });
  expect((await deps.cp.jobs.get(SUB, VAULT, job.name)).properties.status).toBe('Completed');
});

test('an event whose point is not in the server vault, or that is malformed, is refused', async () => {
  const { deps, event, counts } = await setup();
  const ghost = {
    ...event,
    id: 'backup:ghost:1',
    data: { ...event.data, pointId: '1700000000001-0123456789ab' },
  };
  await expect(applyHelperEvent(deps, ghost)).rejects.toMatchObject({
    code: OFFLINE_ERROR_CODES.EVENT_INVALID,
  });
  await expect(applyHelperEvent(deps, { ...event, kind: 'nope' })).rejects.toMatchObject({
    code: OFFLINE_ERROR_CODES.EVENT_INVALID,
  });
  await expect(
    applyHelperEvent(deps, { ...event, id: 'backup:x:2', serverName: 'other' }),
  ).rejects.toMatchObject({
    code: OFFLINE_ERROR_CODES.EVENT_INVALID,
  });
  expect(await counts()).toEqual({ jobs: 0, points: 0 });
});

test('an event from a server row of an earlier vault of the same name is refused', async () => {
  const { deps, event, counts, store } = await setup();
  // The row as an earlier vault 'v1' (another vaultId) left it.
  await store.updateServer(SUB, VAULT, 'srv', (d) => ({ ...d, vaultId: 'f'.repeat(32) }));
  await expect(applyHelperEvent(deps, event)).rejects.toMatchObject({
    code: OFFLINE_ERROR_CODES.EVENT_INVALID,
  });
  expect(await counts()).toEqual({ jobs: 0, points: 0 });
});

test('a server row from before rows carried a vaultId is taken as the vault’s own', async () => {
  const { deps, event, counts, store } = await setup();
  await store.updateServer(SUB, VAULT, 'srv', (d) => {
    const { vaultId: _dropped, ...legacy } = d;
    return legacy as typeof d;
  });
  expect((await applyHelperEvent(deps, event)).applied).toBe(true);
  expect(await counts()).toEqual({ jobs: 1, points: 1 });
});
