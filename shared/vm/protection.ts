// Configure protection, stop it, delete the backup data: the item-state steps of the VM workflows.
// Each runs while its orchestration holds the item's turn, and each is safe to run twice.
import { hasErrorCode } from '../errors';
import type { VmDeps } from './vmDeps';
import { fail, ok, type Outcome } from './vmErrors';
import type { TombstoneDoc } from './vmStateStore';

/** Protects a registered (or resumes a stopped) item with one policy, and puts it on the schedule. */
export async function configureProtection(
  deps: VmDeps,
  sub: string,
  vault: string,
  item: string,
  policyName: string,
  nowIso: string,
): Promise<Outcome<{ protectionState: string }>> {
  const { doc } = await deps.cp.items.read(sub, vault, item);
  const policy = await deps.cp.policies.read(sub, vault, policyName);
  const kind = doc.protectionState === 'ProtectionStopped' ? 'resumeProtection' : 'configureProtection';
  const updated = await deps.cp.items.apply(sub, vault, item, { kind, policyName: policy.doc.name });
  const existing = (await deps.state.listSchedules()).find(
    (s) =>
      s.subscriptionId.toLowerCase() === sub.toLowerCase() &&
      s.vaultName.toLowerCase() === vault.toLowerCase() &&
      s.itemName.toLowerCase() === item.toLowerCase(),
  );
  await deps.state.putSchedule({
    subscriptionId: doc.subscriptionId,
    vaultName: doc.vaultName,
    itemName: doc.name,
    policyName: policy.doc.name,
    // A policy change keeps the item's protection start; a (re)protection starts now.
    protectedAt: kind === 'configureProtection' && existing ? existing.protectedAt : nowIso,
  });
  return ok({ protectionState: String(updated.properties.protectionState) });
}

/** Stops scheduled backups and keeps every recovery point (they no longer expire). */
export async function stopProtectionRetainData(
  deps: VmDeps,
  sub: string,
  vault: string,
  item: string,
): Promise<Outcome<{ protectionState: string }>> {
  const { doc } = await deps.cp.items.read(sub, vault, item);
  await deps.state.removeSchedule(sub, vault, item);
  if (doc.protectionState === 'ProtectionStopped') return ok({ protectionState: doc.protectionState });
  if (doc.protectionState === 'Registered')
    return fail('ItemNotProtected', `Item ${doc.name} is registered but not protected`);
  await deps.cp.items.apply(sub, vault, item, { kind: 'stopProtection', retainData: true });
  return ok({ protectionState: 'ProtectionStopped' });
}

/**
 * Stops protection and deletes the item's backup data: its recovery points leave the control plane
 * (so nobody can restore them), their data-plane points are recorded as tombstones for the next
 * garbage collection, the kept snapshot is released, and the item is removed from the vault.
 */
export async function deleteBackupData(
  deps: VmDeps,
  sub: string,
  vault: string,
  item: string,
  nowIso: string,
): Promise<Outcome<{ pointsDeleted: number }>> {
  let doc;
  try {
    doc = (await deps.cp.items.read(sub, vault, item)).doc;
  } catch (err) {
    if (hasErrorCode(err, 'ProtectedItemNotFound')) return ok({ pointsDeleted: 0 }); // a re-run after the end
    throw err;
  }
  await deps.state.removeSchedule(sub, vault, item);
  if (doc.protectionState !== 'ProtectionStopped' && doc.protectionState !== 'Registered') {
    await deps.cp.items.apply(sub, vault, item, { kind: 'stopProtection', retainData: false });
  }
  const points = await deps.cp.recoveryPoints.listAll(sub, vault, item);
  const tombs: TombstoneDoc[] = points.flatMap((p) =>
    diskPointsOf(p).map((vaultPointId) => ({
      vaultPointId,
      itemName: doc.name,
      recoveryPointId: p.id,
      at: nowIso,
    })),
  );
  // Tombstones first: a crash between the two steps leaves data to collect, never data nobody knows of.
  await deps.state.addTombstones(sub, vault, tombs);
  for (const p of points) await deps.cp.recoveryPoints.delete(sub, vault, item, p.id);
  const last = await deps.state.getLastBackup(sub, vault, item);
  if (last) {
    await deps.platform.releaseSnapshots(last.snapshotSet).catch(() => undefined);
    await deps.state.deleteLastBackup(sub, vault, item);
  }
  await deps.cp.items.remove(sub, vault, item);
  return ok({ pointsDeleted: points.length });
}

/** The data-plane point ids a VM recovery point is made of (its `disks`). */
export function diskPointsOf(point: { readonly [field: string]: unknown }): string[] {
  const disks = point.disks;
  if (!Array.isArray(disks)) return [];
  return disks
    .map((d: unknown) => (d as { vaultPointId?: unknown }).vaultPointId)
    .filter((id): id is string => typeof id === 'string');
}
