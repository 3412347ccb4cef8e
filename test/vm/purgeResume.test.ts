// purgeBackupData after a crash inside items.remove: the item row was marked `removing` (it reads as
// gone) but not deleted, so the vault still counted it and could never be deleted. The re-run finishes
// the removal.
import { createControlPlane } from '../../shared/controlPlane/controlPlane';
import { cryptoIds } from '../../shared/controlPlane/controlPlanePorts';
import type { ItemDoc } from '../../shared/controlPlane/itemService';
import { CONTROL_PLANE_TABLE, rowKeys } from '../../shared/controlPlane/names';
import { memStateStore } from '../../shared/state/memStateStore';
import { purgeBackupData } from '../../shared/vm/protection';
import type { VmDeps } from '../../shared/vm/vmDeps';
import { vmStateStore } from '../../shared/vm/vmStateStore';

it('a purge re-run finishes an item removal that crashed after its removing mark', async () => {
  const store = memStateStore();
  const cp = createControlPlane({
    store,
    clock: { now: () => new Date('2030-01-01T00:00:00Z') },
    ids: cryptoIds,
  });
  await cp.vaults.put('s', 'v', { location: 'local' });
  await cp.items.register('s', 'v', { name: 'web01', sourceId: 'x', friendlyName: 'web01' });
  expect((await cp.vaults.get('s', 'v')).properties.protectedItemCount).toBe(1);
  // The crash: items.remove wrote its mark, then the process died before the delete.
  const pk = rowKeys.partition('s');
  const row = await store.get<ItemDoc>(CONTROL_PLANE_TABLE, pk, rowKeys.item('v', 'web01'));
  await store.update(
    CONTROL_PLANE_TABLE,
    pk,
    rowKeys.item('v', 'web01'),
    { ...row!.value, removing: true },
    row!.etag,
  );
  await expect(cp.items.get('s', 'v', 'web01')).rejects.toMatchObject({ code: 'ProtectedItemNotFound' });

  const deps = { cp, state: vmStateStore(store) } as unknown as VmDeps;
  expect(await purgeBackupData(deps, 's', 'v', 'web01', '2030-01-02T00:00:00.000Z')).toEqual({
    ok: true,
    value: { pointsDeleted: 0 },
  });
  expect(await store.get(CONTROL_PLANE_TABLE, pk, rowKeys.item('v', 'web01'))).toBeUndefined();
  expect((await cp.vaults.get('s', 'v')).properties.protectedItemCount).toBe(0);
  await cp.vaults.delete('s', 'v');
  // And a plain re-run after the end still answers ok.
  await cp.vaults.put('s', 'v', { location: 'local' });
  expect((await purgeBackupData(deps, 's', 'v', 'web01', '2030-01-02T00:00:00.000Z')).ok).toBe(true);
});
