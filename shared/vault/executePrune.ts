// Prune, step 2: carries out a PrunePlan (restic `Execute`). Write order, for crash safety: new packs
// (repacked live blocks) and one index blob covering them and every surviving entry of the obsolete
// index blobs FIRST; then the points to delete; then the obsolete index blobs (the "barrier" a
// concurrent backup detects); then, after PRUNE_GRACE_MS and a re-check for anything written since
// the plan's snapshot, the doomed packs. Every step is idempotent (deletes of missing keys are
// no-ops), so a crash anywhere leaves a vault in which every kept point is readable, and a fresh
// plan + execute converges. docs/design.md ("Prune") has the argument.
import { openBlock } from './blockRecord';
import { encodeIndexFile, decodeIndexFile, type IndexFileEntry } from './indexFile';
import { randomHexId } from './hex';
import { PackWriter } from './packWriter';
import { planPrune, readVaultSnapshot, type PrunePlan, type SnapshotEntry } from './planPrune';
import { forEachPointBlock } from './pointReferences';
import { listPointIds, readPoint } from './recoveryPoint';
import { packCreatedMs } from './packHeaderReader';
import { dropQuarantineOfPack } from './quarantine';
import { refreshIndex } from './refreshIndex';
import { SEALED_KIND } from './formatIds';
import { VAULT_KEYS, type Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import { isNotFound, readSealedObject, writeIndexObject } from './vaultObjects';

/**
 * 5 min between prune's barrier (deleting obsolete index blobs) and its last re-check, and between
 * its snapshot and the barrier. Must exceed a backup's POINT_WRITE_WINDOW_MS (60 s) plus the
 * longest a put can take (the store's request timeout) plus clock-rate drift.
 */
export const PRUNE_GRACE_MS = 5 * 60 * 1000;

export type PruneStep =
  'recheck' | 'repack' | 'index' | 'points' | 'indexes' | 'rescue' | 'packs' | 'sessions';

export interface ExecutePruneOptions {
  graceMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock for the new packs' stamps. */
  nowMs?: () => number;
  packTargetBytes?: number;
  /** Called before each step, for progress and crash tests. */
  onStep?: (step: PruneStep) => void | Promise<void>;
}

export interface PruneResult {
  pointsDeleted: number;
  packsDeleted: number;
  packsWritten: number;
  indexesWritten: number;
  indexesDeleted: number;
  /** Doomed packs kept because something written after the plan's snapshot uses them. */
  packsRescued: string[];
  bytesFreed: number;
  /** Stale disk backup sessions removed (all their objects). */
  sessionsDeleted: number;
  /** Quarantine records dropped because the pack holding the broken copy is gone. */
  quarantineDropped: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function executePrune(
  vault: Vault,
  plan: PrunePlan,
  opts: ExecutePruneOptions = {},
): Promise<PruneResult> {
  const grace = opts.graceMs ?? PRUNE_GRACE_MS;
  const sleep = opts.sleep ?? defaultSleep;
  const nowMs = opts.nowMs ?? (() => Date.now());
  const step = async (s: PruneStep): Promise<void> => {
    await opts.onStep?.(s);
  };
  const result: PruneResult = {
    pointsDeleted: 0,
    packsDeleted: 0,
    packsWritten: 0,
    indexesWritten: 0,
    indexesDeleted: 0,
    packsRescued: [],
    bytesFreed: 0,
    sessionsDeleted: 0,
    quarantineDropped: 0,
  };
  const doomed = new Set([
    ...plan.deletePacks.map((p) => p.packId),
    ...plan.repackPacks.map((p) => p.packId),
  ]);
  const sizes = new Map([...plan.deletePacks, ...plan.repackPacks].map((p) => [p.packId, p.size]));
  const knownIndexes = new Set(plan.snapshotIndexIds);
  const knownPoints = new Set(plan.snapshotPointIds);

  // 1. Anything a concurrent backup committed between the snapshot and now keeps its packs.
  await step('recheck');
  if (doomed.size > 0 && grace > 0) await sleep(grace);
  const early = await rescue(vault, plan, doomed, knownIndexes, knownPoints);
  for (const packId of early.packs) doomed.delete(packId);
  result.packsRescued.push(...early.packs);

  // 2. Copy live blocks of repacked packs into new packs (records are bound to the vault and the
  //    block id, not to a pack, so they are copied as they are, after authenticating them).
  await step('repack');
  const newEntries: IndexFileEntry[] = [];
  let writer: PackWriter | undefined;
  const target = opts.packTargetBytes ?? vault.config.packTargetBytes;
  const byPack = new Map<string, SnapshotEntry[]>();
  for (const e of plan.repackBlocks) {
    if (!doomed.has(e.packId)) continue;
    const list = byPack.get(e.packId) ?? [];
    list.push(e);
    byPack.set(e.packId, list);
  }
  for (const [packId, blocks] of byPack) {
    const { data } = await vault.store.get(VAULT_KEYS.pack(packId));
    const pack = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (const e of blocks) {
      const blockId = Buffer.from(e.blockId, 'hex');
      const record = pack.subarray(e.offset, e.offset + e.length);
      openBlock(vault.keys, vault.vaultIdBytes, blockId, record); // never copy a corrupt record
      writer ??= await PackWriter.open(vault, randomHexId(), nowMs());
      const entry = await writer.append(blockId, Buffer.from(record));
      newEntries.push({ blockId, packId: writer.packId, offset: entry.offset, length: entry.length });
      if (writer.size >= target) {
        await writer.finish();
        result.packsWritten += 1;
        writer = undefined;
      }
    }
  }
  if (writer) {
    await writer.finish();
    result.packsWritten += 1;
  }

  // 3. One index blob covering the new packs and the surviving entries of the obsolete blobs.
  await step('index');
  const obsolete = plan.obsoleteIndexIds;
  const survivors: IndexFileEntry[] = [...newEntries];
  for (const e of [...plan.keptEntries, ...plan.doomedEntries.filter((d) => !doomed.has(d.packId))]) {
    survivors.push({
      blockId: Buffer.from(e.blockId, 'hex'),
      packId: e.packId,
      offset: e.offset,
      length: e.length,
    });
  }
  let newIndexId: string | undefined;
  if (survivors.length > 0 && obsolete.length > 0) {
    newIndexId = await writeIndexObject(vault, encodeIndexFile(survivors));
    result.indexesWritten += 1;
  } else if (newEntries.length > 0) {
    newIndexId = await writeIndexObject(vault, encodeIndexFile(newEntries));
    result.indexesWritten += 1;
  }

  // 4. Points.
  await step('points');
  for (const pointId of plan.deletePoints) {
    if ((await vault.store.delete(VAULT_KEYS.point(pointId))).deleted) result.pointsDeleted += 1;
  }

  // 5. The barrier: obsolete index blobs go, so no new view contains the doomed packs.
  await step('indexes');
  for (const indexId of obsolete) {
    if ((await vault.store.delete(VAULT_KEYS.index(indexId))).deleted) result.indexesDeleted += 1;
  }

  // 6. Wait out any backup that checked its view before the barrier, then look again.
  await step('rescue');
  if (doomed.size > 0 && grace > 0) await sleep(grace);
  if (newIndexId) knownIndexes.add(newIndexId);
  const late = await rescue(vault, plan, doomed, knownIndexes, knownPoints);
  for (const packId of late.packs) doomed.delete(packId);
  result.packsRescued.push(...late.packs);
  if (late.unindexed.length > 0) {
    // Defence in depth: a new point uses a doomed block no index names any more.
    await writeIndexObject(vault, encodeIndexFile(late.unindexed));
    result.indexesWritten += 1;
  }

  // 7. Packs, last.
  await step('packs');
  for (const packId of [...doomed].sort()) {
    if ((await vault.store.delete(VAULT_KEYS.pack(packId))).deleted) {
      result.packsDeleted += 1;
      result.bytesFreed += sizes.get(packId) ?? 0;
    }
  }
  result.bytesFreed -= newEntries.reduce((n, e) => n + e.length, 0);
  // A quarantine record is dropped once the pack holding the broken copy is gone (deleted just now,
  // or already missing at the snapshot); a rescued pack keeps its records. After the packs: a crash
  // in between leaves records of missing packs, which the next plan drops.
  const packsGone = new Set(
    (plan.dropQuarantine ?? [])
      .map((q) => q.packId)
      .filter((packId) => doomed.has(packId) || !sizes.has(packId)),
  );
  for (const packId of [...packsGone].sort())
    result.quarantineDropped += await dropQuarantineOfPack(vault, packId);

  // 8. Stale disk backup sessions. Independent of the rest: a session holds no block alive.
  await step('sessions');
  for (const s of plan.staleSessions ?? []) {
    if (await deleteSession(vault, s.sessionId, plan.nowMs - plan.safetyMarginMs))
      result.sessionsDeleted += 1;
  }
  await refreshIndex(vault, { adopt: false });
  return result;
}

export interface PruneOptions extends ExecutePruneOptions {
  deletePoints: readonly string[];
  safetyMarginMs?: number;
  repackUnusedFraction?: number;
}

/** Snapshot, plan and execute in one call (the portal previews with readVaultSnapshot + planPrune). */
export async function prune(
  vault: Vault,
  opts: PruneOptions,
): Promise<{ plan: PrunePlan; result: PruneResult }> {
  const nowMs = opts.nowMs ?? (() => Date.now());
  const plan = planPrune(await readVaultSnapshot(vault), {
    deletePoints: opts.deletePoints,
    nowMs: nowMs(),
    ...(opts.safetyMarginMs === undefined ? {} : { safetyMarginMs: opts.safetyMarginMs }),
    ...(opts.repackUnusedFraction === undefined ? {} : { repackUnusedFraction: opts.repackUnusedFraction }),
  });
  return { plan, result: await executePrune(vault, plan, opts) };
}

/**
 * Deletes a session's objects, its plan object last (so a crash leaves it findable by the next
 * prune), unless its plan object turns out to be newer than `cutoffMs` (re-planned since the snapshot).
 */
async function deleteSession(vault: Vault, sessionId: string, cutoffMs: number): Promise<boolean> {
  const planKey = VAULT_KEYS.sessionPlan(sessionId);
  const stat = await vault.store.stat(planKey);
  if (stat && packCreatedMs(stat) > cutoffMs) return false;
  const keys: string[] = [];
  for await (const { key } of vault.store.list(VAULT_KEYS.sessionPrefix(sessionId)))
    if (key !== planKey) keys.push(key);
  for (const key of keys) await vault.store.delete(key);
  await vault.store.delete(planKey);
  return true;
}

interface Rescue {
  packs: string[];
  /** Entries (from the plan) of rescued blocks that no current index names. */
  unindexed: IndexFileEntry[];
}

/**
 * Doomed packs that something written after the snapshot uses: named by an index blob the plan did
 * not see (a backup's reference index, or its own index), or holding a block of a point the plan
 * did not see.
 */
async function rescue(
  vault: Vault,
  plan: PrunePlan,
  doomed: ReadonlySet<string>,
  knownIndexes: ReadonlySet<string>,
  knownPoints: ReadonlySet<string>,
): Promise<Rescue> {
  const out: Rescue = { packs: [], unindexed: [] };
  if (doomed.size === 0) return out;
  const rescued = new Set<string>();
  const indexedNow = new Set<string>(); // `${block}/${pack}` named by any index blob written since
  for await (const { key } of vault.store.list(VAULT_KEYS.INDEX_PREFIX)) {
    const indexId = key.slice(VAULT_KEYS.INDEX_PREFIX.length);
    if (knownIndexes.has(indexId)) continue;
    let plain: Buffer;
    try {
      plain = await readSealedObject(vault, SEALED_KIND.INDEX, key, indexId);
    } catch (err) {
      if (isNotFound(err)) continue;
      throw new VaultError(
        VAULT_ERROR_CODES.DAMAGED,
        `prune stopped: index ${indexId} written since the plan is unreadable; no packs were deleted`,
        { key },
        { cause: err },
      );
    }
    decodeIndexFile(plain, (e) => {
      if (doomed.has(e.packId)) rescued.add(e.packId);
      indexedNow.add(`${e.blockId.toString('hex')}/${e.packId}`);
    });
  }
  const doomedByBlock = new Map<string, SnapshotEntry[]>();
  // A quarantined copy is never rescued as a holder: a new point that uses its block reads the
  // healthy copy (the plan only runs when there is one).
  const broken = new Set((plan.dropQuarantine ?? []).map((q) => `${q.blockId}/${q.packId}`));
  for (const e of plan.doomedEntries) {
    if (!doomed.has(e.packId) || broken.has(`${e.blockId}/${e.packId}`)) continue;
    const list = doomedByBlock.get(e.blockId) ?? [];
    list.push(e);
    doomedByBlock.set(e.blockId, list);
  }
  for (const pointId of await listPointIds(vault)) {
    if (knownPoints.has(pointId)) continue;
    let point;
    try {
      point = await readPoint(vault, pointId);
    } catch (err) {
      if ((err as { code?: string }).code === VAULT_ERROR_CODES.POINT_NOT_FOUND) continue;
      throw err;
    }
    await forEachPointBlock(vault, point, (hexId) => {
      for (const e of doomedByBlock.get(hexId) ?? []) {
        rescued.add(e.packId);
        if (!indexedNow.has(`${hexId}/${e.packId}`)) {
          indexedNow.add(`${hexId}/${e.packId}`);
          out.unindexed.push({
            blockId: Buffer.from(hexId, 'hex'),
            packId: e.packId,
            offset: e.offset,
            length: e.length,
          });
        }
      }
    });
  }
  out.packs = [...rescued].sort();
  return out;
}
