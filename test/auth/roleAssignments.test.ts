// Role assignments as API resources (shared/auth/roleAssignmentService.ts) on memStateStore: names,
// immutability, duplicates, preconditions, vault scope, the last-Owner rule (also under a deterministic
// race), and the grant rows authorization reads.
import { parseScope, type Scope } from '../../shared/auth/roleAssignments';
import { createControlPlane, type ControlPlane } from '../../shared/controlPlane/controlPlane';
import { uuidV7, type IdSource } from '../../shared/controlPlane/controlPlanePorts';
import { ROLE_ASSIGNMENTS_TABLE } from '../../shared/controlPlane/names';
import { memStateStore } from '../../shared/state/memStateStore';
import type { StateStore } from '../../shared/state/stateStore';

const now = new Date('2024-05-01T12:00:00.000Z');
const SUB: Scope = { subscriptionId: 's' };
const VAULT: Scope = { subscriptionId: 's', vaultName: 'v1' };

function setup(store: StateStore = memStateStore()): ControlPlane {
  let seq = 0;
  const ids: IdSource = {
    timeOrdered: (at) => uuidV7(at, Buffer.from(String(++seq).padStart(10, '0'))),
    vaultId: () => (++seq).toString(16).padStart(32, '0'),
  };
  return createControlPlane({ store, clock: { now: () => now }, ids });
}

const body = (principalId: string, role: string) => ({ properties: { principalId, role } });

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('role assignments as resources', () => {
  it('PUT creates a named assignment that grants the role; the same PUT again is a no-op', async () => {
    const cp = setup();
    const created = await cp.assignments.put(SUB, 'A1', body('alice', 'Backup Operator'));
    expect(created.created).toBe(true);
    expect(created.resource).toMatchObject({
      id: '/subscriptions/s/roleAssignments/A1',
      name: 'A1',
      type: 'Strongbox/roleAssignments',
      properties: { principalId: 'alice', role: 'Backup Operator', scope: '/subscriptions/s' },
    });
    expect(await cp.roleAssignments.rolesAt('alice', VAULT)).toEqual(['Backup Operator']);
    const again = await cp.assignments.put(SUB, 'a1', body('ALICE', 'Backup Operator'));
    expect(again).toEqual({ created: false, resource: created.resource });
    expect((await cp.assignments.get(SUB, 'a1')).etag).toBe(created.resource.etag);
  });

  it('an assignment is immutable, and a principal holds a role at a scope once', async () => {
    const cp = setup();
    await cp.assignments.put(SUB, 'a1', body('alice', 'Backup Reader'));
    const changedRole = await cp.assignments.put(SUB, 'a1', body('alice', 'Owner')).catch((e: unknown) => e);
    expect(changedRole).toMatchObject({ code: 'PropertyCannotBeChanged', target: 'properties.role' });
    const changedPrincipal = await cp.assignments
      .put(SUB, 'a1', body('bob', 'Backup Reader'))
      .catch((e: unknown) => e);
    expect(changedPrincipal).toMatchObject({
      code: 'PropertyCannotBeChanged',
      target: 'properties.principalId',
    });
    const dup = await cp.assignments.put(SUB, 'a2', body('alice', 'Backup Reader')).catch((e: unknown) => e);
    expect(dup).toMatchObject({ code: 'RoleAssignmentExists' });
    expect((dup as Error).message).toContain("'a1'");
    // Another role for the same principal, or the same role at a vault, is another assignment.
    await cp.vaults.put('s', 'v1', { location: 'westeurope' });
    await cp.assignments.put(SUB, 'a3', body('alice', 'Backup Operator'));
    await cp.assignments.put(VAULT, 'a4', body('alice', 'Backup Reader'));
    expect((await cp.roleAssignments.rolesAt('alice', VAULT)).sort()).toEqual([
      'Backup Operator',
      'Backup Reader',
      'Backup Reader',
    ]);
  });

  it('honours If-None-Match: * and If-Match', async () => {
    const cp = setup();
    const { resource } = await cp.assignments.put(SUB, 'a1', body('alice', 'Backup Reader'));
    expect(
      await codeOf(cp.assignments.put(SUB, 'a1', body('alice', 'Backup Reader'), { ifNoneMatch: '*' })),
    ).toBe('PreconditionFailed');
    expect(await codeOf(cp.assignments.delete(SUB, 'a1', { ifMatch: 'W/"stale"' }))).toBe(
      'PreconditionFailed',
    );
    await cp.assignments.delete(SUB, 'a1', { ifMatch: resource.etag });
    expect(await codeOf(cp.assignments.get(SUB, 'a1'))).toBe('RoleAssignmentNotFound');
    expect(await codeOf(cp.assignments.delete(SUB, 'a1'))).toBe('RoleAssignmentNotFound');
    expect(await cp.roleAssignments.rolesAt('alice', SUB)).toEqual([]);
  });

  it('vault scope: the vault must exist; a vault lists its own, the subscription lists all', async () => {
    const cp = setup();
    expect(await codeOf(cp.assignments.put(VAULT, 'a1', body('alice', 'Owner')))).toBe('VaultNotFound');
    expect(await codeOf(cp.assignments.list(VAULT, { top: 10 }))).toBe('VaultNotFound');
    await cp.vaults.put('s', 'V1', { location: 'westeurope' });
    const { resource } = await cp.assignments.put(VAULT, 'a1', body('alice', 'Owner'));
    // The scope keeps the vault's own spelling.
    expect(resource.id).toBe('/subscriptions/s/vaults/V1/roleAssignments/a1');
    await cp.assignments.put(SUB, 'a2', body('bob', 'Owner'));
    expect((await cp.assignments.list(VAULT, { top: 10 })).value.map((a) => a.name)).toEqual(['a1']);
    expect((await cp.assignments.list(SUB, { top: 10 })).value.map((a) => a.id).sort()).toEqual([
      '/subscriptions/s/roleAssignments/a2',
      '/subscriptions/s/vaults/V1/roleAssignments/a1',
    ]);
    // The same name at another scope is another assignment.
    expect(await codeOf(cp.assignments.get(SUB, 'a1'))).toBe('RoleAssignmentNotFound');
    const page = await cp.assignments.list(SUB, { top: 1 });
    expect(page.value).toHaveLength(1);
    expect(page.skipToken).toBeDefined();
  });

  it('never deletes the last Owner at subscription scope; vault Owners do not count', async () => {
    const cp = setup();
    await cp.vaults.put('s', 'v1', { location: 'westeurope' });
    await cp.assignments.put(SUB, 'o1', body('alice', 'Owner'));
    await cp.assignments.put(VAULT, 'vo', body('bob', 'Owner'));
    const last = await cp.assignments.delete(SUB, 'o1').catch((e: unknown) => e);
    expect(last).toMatchObject({ code: 'LastOwnerCannotBeDeleted', target: 'roleAssignmentName' });
    expect((last as Error).message).toMatch(/last Owner of subscription 's'; assign another Owner first/);
    expect(await cp.roleAssignments.rolesAt('alice', SUB)).toEqual(['Owner']);
    // A vault-scoped Owner can go, even the last one there.
    await cp.assignments.delete(VAULT, 'vo');
    // With a second subscription Owner, either may go, but not both.
    await cp.assignments.put(SUB, 'o2', body('carol', 'Owner'));
    await cp.assignments.delete(SUB, 'o1');
    expect(await codeOf(cp.assignments.delete(SUB, 'o2'))).toBe('LastOwnerCannotBeDeleted');
  });

  it('two concurrent DELETEs of the last two Owners: exactly one wins (deterministic interleaving)', async () => {
    // Both DELETEs read before either writes: the store holds every transaction until two are waiting,
    // then lets them commit one after the other.
    const inner = memStateStore();
    const waiting: (() => void)[] = [];
    let gate = false;
    const store: StateStore = {
      ...inner,
      get: (t, pk, rk) => inner.get(t, pk, rk),
      query: (t, pk, o) => inner.query(t, pk, o),
      transact: async (t, pk, ops) => {
        if (gate && t === ROLE_ASSIGNMENTS_TABLE) {
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === 2) {
              gate = false;
              for (const go of waiting.splice(0)) go();
            }
          });
        }
        return inner.transact(t, pk, ops);
      },
    };
    const cp = setup(store);
    await cp.assignments.put(SUB, 'o1', body('alice', 'Owner'));
    await cp.assignments.put(SUB, 'o2', body('bob', 'Owner'));
    gate = true;
    const results = await Promise.allSettled([
      cp.assignments.delete(SUB, 'o1'),
      cp.assignments.delete(SUB, 'o2'),
    ]);
    const outcomes = results.map((r) =>
      r.status === 'fulfilled' ? 'deleted' : (r.reason as { code: string }).code,
    );
    expect(outcomes.sort()).toEqual(['LastOwnerCannotBeDeleted', 'deleted']);
    const owners = (await cp.assignments.list(SUB, { top: 10 })).value.filter(
      (a) => a.properties.role === 'Owner',
    );
    expect(owners).toHaveLength(1);
  });

  it('the token CLI path (assign) is idempotent and names its assignments; old unnamed grants are adopted', async () => {
    const store = memStateStore();
    const cp = setup(store);
    const first = await cp.roleAssignments.assign('alice', 'Owner', parseScope('/subscriptions/s'), now);
    const second = await cp.roleAssignments.assign('alice', 'Owner', parseScope('/subscriptions/s'), now);
    expect(second.assignmentName).toBe(first.assignmentName);
    expect(first.assignmentName).toMatch(/^[0-9a-f-]{36}$/);
    expect((await cp.assignments.list(SUB, { top: 10 })).value.map((a) => a.name)).toEqual([
      first.assignmentName,
    ]);
    // A grant row written before assignments had names (no name row): PUT adopts it instead of refusing.
    await store.upsert(ROLE_ASSIGNMENTS_TABLE, 's', 'bob|*|Backup Reader', {
      principalId: 'bob',
      role: 'Backup Reader',
      scope: '/subscriptions/s',
      createdTime: now.toISOString(),
    });
    expect((await cp.assignments.put(SUB, 'b1', body('bob', 'Backup Reader'))).created).toBe(true);
    expect(await cp.roleAssignments.rolesAt('bob', SUB)).toEqual(['Backup Reader']);
    await cp.assignments.delete(SUB, 'b1');
    expect(await cp.roleAssignments.rolesAt('bob', SUB)).toEqual([]);
  });

  it('rejects a body that is not {"properties":{"principalId","role"}}, naming the field', async () => {
    const cp = setup();
    const cases: [unknown, string][] = [
      [{}, 'properties'],
      [{ properties: { role: 'Owner' } }, 'properties.principalId'],
      [{ properties: { principalId: 7, role: 'Owner' } }, 'properties.principalId'],
      [{ properties: { principalId: '-x', role: 'Owner' } }, 'properties.principalId'],
      [{ properties: { principalId: 'a' } }, 'properties.role'],
      [{ properties: { principalId: 'a', role: 'Admin' } }, 'properties.role'],
      [{ properties: { principalId: 'a', role: 'Owner', scope: '/subscriptions/x' } }, 'properties.scope'],
      [{ properties: { principalId: 'a', role: 'Owner' }, id: 'x' }, 'id'],
    ];
    for (const [input, target] of cases) {
      const err = await cp.assignments.put(SUB, 'a1', input).catch((e: unknown) => e);
      expect({
        target,
        code: (err as { code?: string }).code,
        at: (err as { target?: string }).target,
      }).toEqual({
        target,
        code: 'InvalidRequestBody',
        at: target,
      });
    }
    expect((await cp.assignments.list(SUB, { top: 10 })).value).toEqual([]);
  });
});
