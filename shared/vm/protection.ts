// Configure protection, stop it, delete the backup data: the item-state steps of the VM workflows.
// Each runs while its orchestration holds the item's turn, and each is safe to run twice.
import { immutabilityOf, softDeleteOf } from '../controlPlane/vaultService';
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

const DAY_MS = 86_400_000;

/**
 * "Stop protection and delete backup data". Under the vault's soft delete (on by default) the data is
 * not deleted yet: the item becomes SoftDeleted, keeps its recovery points (restorable after an
 * undelete) and is purged by the retention pass once `retentionDays` have passed. With soft delete
 * Disabled, or for an item without backup data, the data goes now (purgeBackupData).
 */
export async function deleteBackupData(
  deps: VmDeps,
  sub: string,
  vault: string,
  item: string,
  nowIso: string,
): Promise<Outcome<{ pointsDeleted: number } | { softDeleted: true; purgeAfter: string }>> {
  let doc;
  try {
    doc = (await deps.cp.items.read(sub, vault, item)).doc;
  } catch (err) {
    if (hasErrorCode(err, 'ProtectedItemNotFound')) return ok({ pointsDeleted: 0 }); // a re-run after the end
    throw err;
  }
  const v = (await deps.cp.vaults.read(sub, vault)).doc;
  const settings = softDeleteOf(v);
  const hasData = doc.recoveryPointCount > 0 || doc.protectionState === 'SoftDeleted';
  // Checked again here, in the item's turn: the vault may have become immutable while this waited.
  if (hasData && immutabilityOf(v) !== 'Disabled') {
    return fail('BlockedByImmutableVault', `The vault ${v.name} is immutable (${immutabilityOf(v)})`);
  }
  if (settings.state === 'Disabled' || !hasData) {
    if (doc.protectionState === 'SoftDeleted') {
      // The purge mark first, as the retention pass does, so a racing undelete is refused or wins.
      try {
        await deps.cp.items.apply(sub, vault, item, { kind: 'beginPurge' });
      } catch (err) {
        if (hasErrorCode(err, 'InvalidStateTransition'))
          return fail('ItemNotProtected', `Item ${doc.name} was undeleted meanwhile`);
        throw err;
      }
    }
    return purgeBackupData(deps, sub, vault, item, nowIso);
  }
  // Soft delete. A re-run (or a second DELETE) finds the item soft deleted and keeps its first dates.
  const purgeAfter =
    doc.purgeAfter ?? new Date(Date.parse(nowIso) + settings.retentionDays * DAY_MS).toISOString();
  await deps.state.removeSchedule(sub, vault, item);
  // Listed for the purge before the state changes: a crash in between leaves a listing the purge
  // ignores (the item is not SoftDeleted), never a soft-deleted item nobody will purge.
  await deps.state.putSoftDeleted({
    sub: doc.subscriptionId,
    vault: doc.vaultName,
    item: doc.name,
    purgeAfter,
  });
  await deps.cp.items.apply(sub, vault, item, { kind: 'softDelete', at: nowIso, purgeAfter });
  return ok({ softDeleted: true, purgeAfter });
}

/**
 * Undelete: a soft-deleted item goes back to "protection stopped, data retained", with every recovery
 * point, and can be restored or protected again. Refused (409) once its purge has begun.
 */
export async function undeleteItem(
  deps: Pick<VmDeps, 'cp' | 'state'>,
  sub: string,
  vault: string,
  item: string,
): Promise<void> {
  await deps.cp.items.apply(sub, vault, item, { kind: 'undelete' });
  // A delete may have soft-deleted it again right after (it takes the item's turn; this does not):
  // then its fresh listing must stay, or nothing would ever purge it.
  const now = (await deps.cp.items.read(sub, vault, item)).doc;
  if (now.protectionState !== 'SoftDeleted') await deps.state.removeSoftDeleted(sub, vault, item);
}

/**
 * Deletes the item's backup data now: its recovery points leave the control plane (so nobody can
 * restore them), their data-plane points are recorded as tombstones for the next garbage collection,
 * the kept snapshot is released, and the item is removed from the vault.
 */
export async function purgeBackupData(
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
    if (hasErrorCode(err, 'ProtectedItemNotFound')) {
      // A re-run after the end, or after a crash inside items.remove (its row marked `removing`, which
      // reads as not found): remove() finishes such a row, so the vault's item count comes right.
      await deps.cp.items.remove(sub, vault, item).catch((e: unknown) => {
        if (!hasErrorCode(e, 'ProtectedItemNotFound')) throw e;
      });
      await deps.state.removeSoftDeleted(sub, vault, item);
      return ok({ pointsDeleted: 0 });
    }
    throw err;
  }
  await deps.state.removeSchedule(sub, vault, item);
  if (
    doc.protectionState !== 'ProtectionStopped' &&
    doc.protectionState !== 'Registered' &&
    doc.protectionState !== 'SoftDeleted'
  ) {
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
  await deps.state.removeSoftDeleted(sub, vault, item);
  return ok({ pointsDeleted: points.length });
}

/**
 * The retention pass's purge: every soft-deleted item of the vault whose period has passed loses its
 * data now. Listings of items that are no longer soft deleted (undeleted meanwhile) are dropped.
 */
export async function purgeSoftDeleted(
  deps: VmDeps,
  sub: string,
  vault: string,
  nowIso: string,
): Promise<{ purged: string[] }> {
  const purged: string[] = [];
  for (const d of await deps.state.listSoftDeleted(sub, vault)) {
    let state: string | undefined;
    try {
      state = (await deps.cp.items.read(sub, vault, d.item)).doc.protectionState;
    } catch (err) {
      if (!hasErrorCode(err, 'ProtectedItemNotFound')) throw err;
    }
    if (state !== 'SoftDeleted') {
      await deps.state.removeSoftDeleted(sub, vault, d.item);
      continue;
    }
    if (Date.parse(d.purgeAfter) > Date.parse(nowIso)) continue;
    // Marked first, under the item row's ETag: an undelete racing this purge either wins (and the mark
    // is refused) or sees the mark and is refused. Nothing is deleted after an undelete succeeded.
    try {
      await deps.cp.items.apply(sub, vault, d.item, { kind: 'beginPurge' });
    } catch (err) {
      if (hasErrorCode(err, 'InvalidStateTransition')) continue;
      throw err;
    }
    const r = await purgeBackupData(deps, sub, vault, d.item, nowIso);
    if (r.ok) purged.push(d.item);
  }
  return { purged };
}

/** The data-plane point ids a VM recovery point is made of (its `disks`). */
export function diskPointsOf(point: { readonly [field: string]: unknown }): string[] {
  const disks = point.disks;
  if (!Array.isArray(disks)) return [];
  return disks
    .map((d: unknown) => (d as { vaultPointId?: unknown }).vaultPointId)
    .filter((id): id is string => typeof id === 'string');
}
