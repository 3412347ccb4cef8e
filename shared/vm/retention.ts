// Retention: recovery points the policy no longer keeps are deleted, then the data they alone held is
// garbage-collected. Plan, then execute (STYLE.md §6): `expiredPoints` is the pure plan (the policy
// module's planRetention over the item's points), `expirePoints` carries it out for a vault, and
// `collectGarbage` prunes the data plane. Order, the vault's write order reversed:
//   1. tombstone the data-plane points of the expiring points (so a crash leaves them findable),
//   2. delete the control-plane points (nobody can start a restore of them any more),
//   3. prune the tombstoned data-plane points and every block only they referenced, then
//   4. drop the tombstones.
// The retention orchestration runs 1-4 while it holds the turn of every item of the vault, so no
// backup or restore of the vault runs meanwhile (the reason prune's grace waits can be zero here).
import { parsePageRequest } from '../controlPlane/paging';
import type { RecoveryPointDoc } from '../controlPlane/recoveryPointService';
import { hasErrorCode } from '../errors';
import type { Policy } from '../policy/policy';
import { planRetention, type RecoveryPointRef } from '../policy/retention';
import { listPointIds, prune } from '../vault';
import { clockFrom } from './hostTime';
import { diskPointsOf, purgeSoftDeleted } from './protection';
import type { VmDeps } from './vmDeps';
import { itemKey, type RetentionRunDoc } from './vmStateStore';

/** Which of an item's points the policy lets go at `now` (pure). */
export function expiredPoints(
  policy: Policy,
  points: readonly RecoveryPointDoc[],
  now: Date,
): RecoveryPointDoc[] {
  const refs: RecoveryPointRef[] = points.map((p) => {
    const adhoc = p.pointKind === 'adhoc';
    const until = typeof p.retainUntil === 'string' ? new Date(p.retainUntil) : undefined;
    return {
      id: p.id,
      time: new Date(p.recoveryPointTime),
      kind: adhoc ? 'adhoc' : 'scheduled',
      ...(adhoc && until !== undefined ? { retainUntil: until } : {}),
    };
  });
  const doomed = new Set(planRetention(policy, refs, now).delete.map((d) => d.id));
  return points.filter((p) => doomed.has(p.id));
}

export interface ExpireResult {
  readonly items: number;
  readonly pointsDeleted: number;
  /** Soft-deleted items whose period ended: their data was deleted now (protection.ts purgeSoftDeleted). */
  readonly itemsPurged?: readonly string[];
}

/** Steps 1-2 for every protected item of a vault. */
export async function expirePoints(
  deps: VmDeps,
  sub: string,
  vault: string,
  nowIso: string,
): Promise<ExpireResult> {
  const now = new Date(nowIso);
  const entries = (await deps.state.listSchedules()).filter(
    (e) => itemKey(e.subscriptionId, e.vaultName, '') === itemKey(sub, vault, ''),
  );
  let pointsDeleted = 0;
  for (const e of entries) {
    let policy;
    try {
      policy = (await deps.cp.policies.read(sub, vault, e.policyName)).doc.policy;
    } catch (err) {
      if (hasErrorCode(err, 'BackupPolicyNotFound')) continue; // keeps everything until it has a policy
      throw err;
    }
    const points = await deps.cp.recoveryPoints.listAll(sub, vault, e.itemName);
    const expired = expiredPoints(policy, points, now);
    if (expired.length === 0) continue;
    await deps.state.addTombstones(
      sub,
      vault,
      expired.flatMap((p) =>
        diskPointsOf(p).map((vaultPointId) => ({
          vaultPointId,
          itemName: e.itemName,
          recoveryPointId: p.id,
          at: nowIso,
        })),
      ),
    );
    const last = await deps.state.getLastBackup(sub, vault, e.itemName);
    for (const p of expired) {
      await deps.cp.recoveryPoints.delete(sub, vault, e.itemName, p.id);
      pointsDeleted++;
      // The newest point expired (no backup for longer than retention): the next backup is a full one.
      if (last && last.recoveryPointId === p.id) {
        await deps.platform.releaseSnapshots(last.snapshotSet).catch(() => undefined);
        await deps.state.deleteLastBackup(sub, vault, e.itemName);
      }
    }
  }
  // Soft-deleted items are on no schedule, so none of the above touched their points; the ones whose
  // soft-delete period has ended are purged here, in the same held turns.
  const { purged } = await purgeSoftDeleted(deps, sub, vault, nowIso);
  return { items: entries.length, pointsDeleted, itemsPurged: purged };
}

/** Steps 3-4: prunes the tombstoned points of a vault (no-op without tombstones). */
export async function collectGarbage(
  deps: VmDeps,
  sub: string,
  vault: string,
  nowIso: string,
  pointsDeleted: number,
): Promise<RetentionRunDoc> {
  const tombs = await deps.state.listTombstones(sub, vault);
  const run = { at: nowIso, pointsDeleted, vaultPointsDeleted: 0, packsDeleted: 0, bytesFreed: 0 };
  if (tombs.length === 0) {
    await deps.state.clearGcVault(sub, vault);
    await deps.state.putRetentionRun(sub, vault, run);
    return run;
  }
  const v = await deps.dataPlane.openExclusive(sub, vault);
  if (v) {
    const existing = new Set(await listPointIds(v));
    const deletePoints = tombs.map((t) => t.vaultPointId).filter((id) => existing.has(id));
    // Pack ages are on the host's timeline (segments stamp them with it), and no backup of this
    // vault runs now (the orchestration holds every item's turn), so no grace wait is needed.
    const { result } = await prune(v, {
      deletePoints,
      nowMs: () => clockFrom(nowIso)().getTime(),
      graceMs: 0,
    });
    run.vaultPointsDeleted = result.pointsDeleted;
    run.packsDeleted = result.packsDeleted;
    run.bytesFreed = result.bytesFreed;
    // Other cached views of this vault in this process are stale now.
    deps.dataPlane.invalidate(sub, vault);
  }
  await deps.state.deleteTombstones(
    sub,
    vault,
    tombs.map((t) => t.vaultPointId),
  );
  await deps.state.clearGcVault(sub, vault);
  await deps.state.putRetentionRun(sub, vault, run);
  return run;
}

/**
 * Every vault retention must visit: those with protected items, those with data to collect, and those
 * with soft-deleted items to purge.
 */
export async function retentionVaults(deps: VmDeps): Promise<{ sub: string; vault: string }[]> {
  const seen = new Map<string, { sub: string; vault: string }>();
  for (const e of await deps.state.listSchedules()) {
    seen.set(itemKey(e.subscriptionId, e.vaultName, ''), { sub: e.subscriptionId, vault: e.vaultName });
  }
  for (const g of await deps.state.listGcVaults()) seen.set(itemKey(g.sub, g.vault, ''), g);
  for (const d of await deps.state.listSoftDeleted())
    seen.set(itemKey(d.sub, d.vault, ''), { sub: d.sub, vault: d.vault });
  return [...seen.values()];
}

/** The names of every item of a vault (any state): retention takes each one's turn. */
export async function vaultItemNames(deps: VmDeps, sub: string, vault: string): Promise<string[]> {
  const names: string[] = [];
  let skipToken: string | undefined;
  do {
    const page = await deps.cp.items.list(sub, vault, parsePageRequest('1000', skipToken));
    names.push(...page.value.map((i) => i.name));
    skipToken = page.skipToken;
  } while (skipToken !== undefined);
  return names;
}
