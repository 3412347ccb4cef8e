// A vault DELETE that stops at any write (an error, a crash, a timeout) leaves the vault either intact,
// gone, or marked Deleting with nothing inside it visible, and the next DELETE finishes the job. Proved by
// crashing the delete at every one of its writes, before and after the write reaches the store.
import { parseScope } from '../../shared/auth/roleAssignments';
import { createControlPlane, type ControlPlane } from '../../shared/controlPlane/controlPlane';
import { uuidV7, type IdSource } from '../../shared/controlPlane/controlPlanePorts';
import { CONTROL_PLANE_TABLE, ROLE_ASSIGNMENTS_TABLE, rowKeys } from '../../shared/controlPlane/names';
import { DEFAULT_POLICY_NAME, type VaultDoc } from '../../shared/controlPlane/vaultService';
import { memStateStore } from '../../shared/state/memStateStore';
import type { StateStore } from '../../shared/state/stateStore';
import { faultyStateStore, InjectedCrash, type FaultyStateStore } from './faultyStateStore';
import { queryAll } from '../../shared/state/queryAll';

const SUB = 's';
const V = 'v1';
const now = new Date('2024-05-01T12:00:00.000Z');
/** Enough rows that policies and jobs each take two transactions (Azure: 100 operations each). */
const EXTRA_POLICIES = 150;
const JOBS = 130;
const VAULT_GRANTS = ['alice', 'bob', 'carol'];

const policyBody = {
  properties: {
    schedule: { frequency: 'daily', timeZone: 'UTC', times: ['01:00'] },
    instantRestoreDays: 2,
    retention: { daily: { days: 7 } },
  },
};

interface World {
  readonly cp: ControlPlane;
  readonly store: FaultyStateStore;
  readonly raw: StateStore;
}

async function seed(): Promise<World> {
  let seq = 0;
  const ids: IdSource = {
    timeOrdered: (at) => uuidV7(at, Buffer.from(String(++seq).padStart(10, '0'))),
    vaultId: () => (++seq).toString(16).padStart(32, '0'),
  };
  const raw = memStateStore();
  const store = faultyStateStore(raw);
  const cp = createControlPlane({ store, clock: { now: () => now }, ids });
  await cp.vaults.put(SUB, 'keep', { location: 'westeurope' });
  await cp.vaults.put(SUB, V, { location: 'westeurope' });
  for (let i = 0; i < EXTRA_POLICIES; i++) await cp.policies.put(SUB, V, `P${i}`, policyBody);
  for (let i = 0; i < JOBS; i++) {
    const job = await cp.jobs.start(SUB, V, { operation: 'Discover' });
    if (i % 2 === 0) await cp.jobs.finish(SUB, V, job.name, { status: 'Completed' });
  }
  await cp.assignments.put({ subscriptionId: SUB }, 'owner-1', {
    properties: { principalId: 'owner', role: 'Owner' },
  });
  for (const [i, principalId] of VAULT_GRANTS.entries()) {
    await cp.assignments.put({ subscriptionId: SUB, vaultName: V }, `grant-${i}`, {
      properties: { principalId, role: 'Backup Reader' },
    });
  }
  store.disarm();
  return { cp, store, raw };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

async function rowKeysOf(store: StateStore, table: string, prefix: string): Promise<string[]> {
  return (await queryAll(store, table, SUB, { rowKeyPrefix: prefix })).map((e) => e.rowKey);
}

async function allPolicies(cp: ControlPlane): Promise<string[]> {
  return (await cp.policies.list(SUB, V, { top: 1000 })).value.map((p) => p.name);
}

/** What the API can observe of vault v, and that it is one of the three allowed states. */
async function observe({ cp, raw }: World): Promise<'intact' | 'deleting' | 'gone'> {
  const row = await raw.get<VaultDoc>(CONTROL_PLANE_TABLE, SUB, rowKeys.vault(V));
  const vaultRows = (await rowKeysOf(raw, CONTROL_PLANE_TABLE, rowKeys.vaultPrefix())).length;
  const counter = await raw.get<{ count: number }>(CONTROL_PLANE_TABLE, SUB, rowKeys.vaultCounter());
  // The vault count always equals the vault rows (the last step removes the row and the count together).
  expect(counter?.value.count).toBe(vaultRows);
  const vaultScope = { subscriptionId: SUB, vaultName: V };
  if (row === undefined) {
    expect(await codeOf(cp.vaults.get(SUB, V))).toBe('VaultNotFound');
    expect(await rowKeysOf(raw, CONTROL_PLANE_TABLE, rowKeys.policyPrefix(V))).toEqual([]);
    expect(await rowKeysOf(raw, CONTROL_PLANE_TABLE, rowKeys.jobPrefix(V))).toEqual([]);
    const grants = await rowKeysOf(raw, ROLE_ASSIGNMENTS_TABLE, '');
    expect(grants.filter((k) => k.includes('vault:v1|'))).toEqual([]);
    return 'gone';
  }
  if (row.value.provisioningState === 'Succeeded') {
    const policies = await allPolicies(cp);
    expect(policies).toHaveLength(EXTRA_POLICIES + 1);
    expect((await cp.policies.get(SUB, V, DEFAULT_POLICY_NAME)).name).toBe(DEFAULT_POLICY_NAME);
    expect((await cp.jobs.list(SUB, V, {}, { top: 1000 })).value).toHaveLength(JOBS);
    expect((await cp.assignments.list(vaultScope, { top: 1000 })).value).toHaveLength(VAULT_GRANTS.length);
    expect(await cp.roleAssignments.rolesAt('alice', vaultScope)).toEqual(['Backup Reader']);
    return 'intact';
  }
  // Deleting: the vault shows itself, marked; nothing inside it is visible or writable, in any half state.
  expect(row.value.provisioningState).toBe('Deleting');
  expect((await cp.vaults.get(SUB, V)).properties.provisioningState).toBe('Deleting');
  const listed = (await cp.vaults.list(SUB, { top: 100 })).value.map((x) => [
    x.name,
    x.properties.provisioningState,
  ]);
  expect(listed).toEqual([
    ['keep', 'Succeeded'],
    [V, 'Deleting'],
  ]);
  const refusals = await Promise.all([
    codeOf(cp.policies.get(SUB, V, DEFAULT_POLICY_NAME)),
    codeOf(cp.policies.list(SUB, V, { top: 10 })),
    codeOf(cp.policies.put(SUB, V, 'Late', policyBody)),
    codeOf(cp.policies.delete(SUB, V, 'P1')),
    codeOf(cp.jobs.list(SUB, V, {}, { top: 10 })),
    codeOf(cp.jobs.dashboard(SUB, V)),
    codeOf(cp.jobs.start(SUB, V, { operation: 'Discover' })),
    codeOf(cp.items.list(SUB, V, { top: 10 })),
    codeOf(cp.items.register(SUB, V, { name: 'vm9', sourceId: 'x', friendlyName: 'x' })),
    codeOf(cp.vaults.put(SUB, V, { location: 'westeurope' })),
    codeOf(cp.assignments.list(vaultScope, { top: 10 })),
    codeOf(cp.assignments.put(vaultScope, 'late', { properties: { principalId: 'dave', role: 'Owner' } })),
  ]);
  expect(refusals).toEqual(refusals.map(() => 'VaultIsBeingDeleted'));
  return 'deleting';
}

/** After the vault is gone, a new vault of the same name starts empty: no old policies, jobs or grants. */
async function expectFreshRecreate({ cp }: World): Promise<void> {
  const vaultScope = { subscriptionId: SUB, vaultName: V };
  await cp.vaults.put(SUB, V, { location: 'westeurope' });
  expect(await allPolicies(cp)).toEqual([DEFAULT_POLICY_NAME]);
  expect((await cp.jobs.list(SUB, V, {}, { top: 1000 })).value).toEqual([]);
  expect((await cp.assignments.list(vaultScope, { top: 1000 })).value).toEqual([]);
  expect(await cp.roleAssignments.rolesAt('alice', parseScope('/subscriptions/s/vaults/v1'))).toEqual([]);
}

describe('vault DELETE crash safety', () => {
  let writesOfCleanDelete = 0;

  beforeAll(async () => {
    const world = await seed();
    await world.cp.vaults.delete(SUB, V);
    writesOfCleanDelete = world.store.writes;
    expect(await observe(world)).toBe('gone');
    await expectFreshRecreate(world);
  });

  it('has the steps the test expects (mark, grants, 2 job batches, 2 policy batches, vault row)', () => {
    expect(writesOfCleanDelete).toBe(7);
  });

  const points = Array.from({ length: 7 }, (_, i) => i + 1).flatMap((n) =>
    (['before', 'after'] as const).map((when) => [n, when] as const),
  );

  it.each(points)(
    'crash at write %i (%s): intact, hidden behind Deleting, or gone; DELETE again finishes',
    async (n, when) => {
      const world = await seed();
      world.store.crashAt(n, when);
      const crashed = await world.cp.vaults.delete(SUB, V).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(crashed).toBeInstanceOf(InjectedCrash);
      const state = await observe(world);
      // Only a crash before the first write (the mark) leaves the vault untouched; only the last write,
      // applied, removes it.
      expect(state).toBe(
        n === 1 && when === 'before' ? 'intact' : n === 7 && when === 'after' ? 'gone' : 'deleting',
      );
      if (state !== 'gone') await world.cp.vaults.delete(SUB, V);
      expect(await observe(world)).toBe('gone');
      await expectFreshRecreate(world);
    },
  );

  it('a DELETE that crashes after every step still gets there, one step per attempt', async () => {
    const world = await seed();
    const states: string[] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      // Each attempt's first write lands; its second never does.
      world.store.crashAt(2, 'before');
      const outcome = await world.cp.vaults.delete(SUB, V).then(
        () => 'done',
        (err: unknown) => {
          if (!(err instanceof InjectedCrash)) throw err;
          return 'crashed';
        },
      );
      states.push(await observe(world));
      if (outcome === 'done') break;
    }
    world.store.disarm();
    expect(states).toEqual(['deleting', 'deleting', 'deleting', 'deleting', 'deleting', 'deleting', 'gone']);
    await expectFreshRecreate(world);
  });
});
