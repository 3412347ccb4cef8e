// Prune, step 1: a snapshot of the vault's state, and a PURE plan computed from it (restic
// PlanPrune; STYLE.md §6), so that tests and the portal can show what would be deleted before
// anything is. executePrune.ts carries it out. docs/design.md ("Prune") has the safety argument.
import { decodeIndexFile } from './indexFile';
import { forEachPointBlock } from './pointReferences';
import { listPointIds, readPoint } from './recoveryPoint';
import { SEALED_KIND } from './formatIds';
import { packCreatedMs } from './packHeaderReader';
import { loadQuarantine, type QuarantinedCopy } from './quarantine';
import { VAULT_KEYS, packIdOfKey, sessionIdOfKey, type Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import { isNotFound, readSealedObject } from './vaultObjects';

/** 24 h + 5 min (reliability.md row 3): an unreferenced pack younger than this is never deleted. */
export const GC_SAFETY_MARGIN_MS = (24 * 60 + 5) * 60 * 1000;
/** A pack still in use is rewritten when more than this share of its bytes is unreferenced. */
export const REPACK_UNUSED_FRACTION = 0.2;

export interface SnapshotEntry {
  blockId: string;
  packId: string;
  offset: number;
  length: number;
}

/** Everything planPrune looks at; plain data (JSON-serialisable). */
export interface VaultSnapshot {
  points: { pointId: string; blockIds: string[] }[];
  unreadablePoints: { pointId: string; reason: string }[];
  indexes: { indexId: string; entries: SnapshotEntry[] }[];
  unreadableIndexes: { indexId: string; reason: string }[];
  packs: { packId: string; size: number; createdMs: number }[];
  /**
   * Segmented disk backup sessions (`sessions/<id>/`): created = the plan object's stamp, or the
   * newest object's if the plan object is gone. Absent in snapshots made before sessions existed.
   */
  sessions?: { sessionId: string; createdMs: number; objects: number }[];
  /**
   * Quarantined (broken) copies (quarantine.ts): never a live block's holder, so never repacked,
   * and dead once a healthy copy exists. Absent in snapshots made before quarantine existed.
   */
  quarantined?: QuarantinedCopy[];
}

export interface PlanPruneOptions {
  deletePoints: readonly string[];
  nowMs: number;
  safetyMarginMs?: number;
  repackUnusedFraction?: number;
}

export interface PruneDamage {
  missingBlocks: { blockId: string; pointIds: string[] }[];
  missingPacks: { packId: string; pointIds: string[] }[];
  unreadableIndexes: { indexId: string; reason: string }[];
  unreadablePoints: { pointId: string; reason: string }[];
  /** Referenced blocks whose every copy is quarantined: no healthy copy to keep. */
  quarantinedBlocks?: { blockId: string; packIds: string[]; pointIds: string[] }[];
}

export interface PrunePlan {
  nowMs: number;
  safetyMarginMs: number;
  /** Ids of the points and index blobs of the snapshot: anything newer is seen as concurrent. */
  snapshotPointIds: string[];
  snapshotIndexIds: string[];
  deletePoints: string[];
  /** Blocks no kept point references any more (were referenced by a deleted point). */
  blocksUnreferenced: number;
  /** Packs with no referenced block, older than the margin: deleted whole. */
  deletePacks: { packId: string; size: number; indexed: boolean }[];
  /** Packs in use with too much unused: their live blocks are copied into new packs first. */
  repackPacks: { packId: string; size: number; liveBytes: number }[];
  /** The records to copy, from repacked packs. */
  repackBlocks: SnapshotEntry[];
  /** Index blobs naming a doomed pack: replaced by one new index of their surviving entries. */
  obsoleteIndexIds: string[];
  /** Entries of obsolete index blobs that survive (their pack is kept). */
  keptEntries: SnapshotEntry[];
  /** Entries of doomed packs (for a rescue if a concurrent backup turns out to use them). */
  doomedEntries: SnapshotEntry[];
  /** Packs younger than the margin that nothing references (kept this time). */
  youngUnreferencedPacks: number;
  bytesFreed: number;
  bytesRepacked: number;
  /**
   * Disk backup sessions older than the margin: deleted with all their objects. A session keeps no
   * block alive; its plan must be committed within the margin (docs/design.md, "Segmented disk backups").
   */
  staleSessions: { sessionId: string; createdMs: number; objects: number }[];
  /**
   * Quarantine records to drop once their pack is gone: the copy's pack is deleted or repacked by
   * this plan (dropped only if it really was deleted), or already missing. Absent in older plans.
   */
  dropQuarantine?: QuarantinedCopy[];
}

/** Reads the snapshot: every point's blocks, every index blob's entries, every pack's size and age. */
export async function readVaultSnapshot(vault: Vault): Promise<VaultSnapshot> {
  const snap: VaultSnapshot = {
    points: [],
    unreadablePoints: [],
    indexes: [],
    unreadableIndexes: [],
    packs: [],
  };
  for await (const { key } of vault.store.list(VAULT_KEYS.INDEX_PREFIX)) {
    const indexId = key.slice(VAULT_KEYS.INDEX_PREFIX.length);
    try {
      const plain = await readSealedObject(vault, SEALED_KIND.INDEX, key, indexId);
      const entries: SnapshotEntry[] = [];
      decodeIndexFile(plain, (e) =>
        entries.push({
          blockId: e.blockId.toString('hex'),
          packId: e.packId,
          offset: e.offset,
          length: e.length,
        }),
      );
      snap.indexes.push({ indexId, entries });
    } catch (err) {
      if (isNotFound(err)) continue; // deleted while listing
      const code = (err as { code?: string }).code;
      if (code?.startsWith('BLOB.')) throw err;
      snap.unreadableIndexes.push({ indexId, reason: (err as Error).message });
    }
  }
  for (const pointId of await listPointIds(vault)) {
    try {
      const ids = new Set<string>();
      await forEachPointBlock(vault, await readPoint(vault, pointId), (h) => ids.add(h));
      snap.points.push({ pointId, blockIds: [...ids] });
    } catch (err) {
      if ((err as { code?: string }).code === VAULT_ERROR_CODES.POINT_NOT_FOUND) continue; // deleted meanwhile
      snap.unreadablePoints.push({ pointId, reason: (err as Error).message });
    }
  }
  for await (const { key, size } of vault.store.list(VAULT_KEYS.PACKS_PREFIX)) {
    const packId = packIdOfKey(key);
    if (!packId) continue;
    const stat = await vault.store.stat(key);
    if (stat) snap.packs.push({ packId, size, createdMs: packCreatedMs(stat) });
  }
  snap.sessions = await readSessions(vault);
  snap.quarantined = [...(await loadQuarantine(vault)).copies()];
  return snap;
}

/** One stat per session (its plan object); every object of a session whose plan object is gone. */
async function readSessions(vault: Vault): Promise<NonNullable<VaultSnapshot['sessions']>> {
  const keysOf = new Map<string, string[]>();
  for await (const { key } of vault.store.list(VAULT_KEYS.SESSIONS_PREFIX)) {
    const sessionId = sessionIdOfKey(key);
    if (!sessionId) continue;
    const keys = keysOf.get(sessionId) ?? [];
    keys.push(key);
    keysOf.set(sessionId, keys);
  }
  const out: NonNullable<VaultSnapshot['sessions']> = [];
  for (const [sessionId, keys] of keysOf) {
    const planKey = VAULT_KEYS.sessionPlan(sessionId);
    const stamps = keys.includes(planKey) ? [planKey] : keys;
    let createdMs = -1;
    for (const key of stamps) {
      const stat = await vault.store.stat(key);
      if (stat) createdMs = Math.max(createdMs, packCreatedMs(stat));
    }
    if (createdMs >= 0) out.push({ sessionId, createdMs, objects: keys.length });
  }
  return out;
}

/** The existence check: every kept point's blocks are indexed and their packs exist. */
export function findDamage(snap: VaultSnapshot, keep: (pointId: string) => boolean): PruneDamage {
  const packs = new Set(snap.packs.map((p) => p.packId));
  const where = locations(snap);
  const broken = locations(snap, 'quarantined');
  const damage: PruneDamage = {
    missingBlocks: [],
    missingPacks: [],
    unreadableIndexes: snap.unreadableIndexes,
    unreadablePoints: snap.unreadablePoints,
    quarantinedBlocks: [],
  };
  const missingPacks = new Map<string, Set<string>>();
  for (const p of snap.points) {
    if (!keep(p.pointId)) continue;
    for (const b of p.blockIds) {
      const locs = where.get(b);
      const brokenLocs = broken.get(b);
      if (!locs && brokenLocs) {
        // Only broken copies: missing data, as far as prune is concerned (it keeps no healthy copy).
        const q = damage.quarantinedBlocks!.find((x) => x.blockId === b);
        if (q) q.pointIds.push(p.pointId);
        else
          damage.quarantinedBlocks!.push({
            blockId: b,
            packIds: brokenLocs.map((l) => l.packId).sort(),
            pointIds: [p.pointId],
          });
      } else if (!locs) {
        const m = damage.missingBlocks.find((x) => x.blockId === b);
        if (m) m.pointIds.push(p.pointId);
        else damage.missingBlocks.push({ blockId: b, pointIds: [p.pointId] });
      } else if (!locs.some((l) => packs.has(l.packId))) {
        for (const l of locs) {
          const s = missingPacks.get(l.packId) ?? new Set<string>();
          s.add(p.pointId);
          missingPacks.set(l.packId, s);
        }
      }
    }
  }
  for (const [packId, s] of missingPacks) damage.missingPacks.push({ packId, pointIds: [...s].sort() });
  return damage;
}

export function isDamaged(d: PruneDamage): boolean {
  return (
    d.missingBlocks.length +
      d.missingPacks.length +
      d.unreadableIndexes.length +
      d.unreadablePoints.length +
      (d.quarantinedBlocks?.length ?? 0) >
    0
  );
}

/**
 * The plan. Pure: a function of the snapshot and the options only. Throws VAULT.DAMAGED (deleting
 * nothing) if any point references a block that is not indexed or whose pack is gone, or if an
 * index or point is unreadable (reliability.md row 4).
 */
export function planPrune(snap: VaultSnapshot, opts: PlanPruneOptions): PrunePlan {
  const margin = opts.safetyMarginMs ?? GC_SAFETY_MARGIN_MS;
  const repackFraction = opts.repackUnusedFraction ?? REPACK_UNUSED_FRACTION;
  const existing = new Set(snap.points.map((p) => p.pointId));
  const deletePoints = [...new Set(opts.deletePoints)].filter((id) => existing.has(id)).sort();
  const deleted = new Set(deletePoints);
  const keep = (id: string): boolean => !deleted.has(id);

  // Every point counts, including those being deleted: a vault missing referenced data is damaged,
  // and prune must not make it worse (reliability.md row 4; restic refuses the same way).
  const damage = findDamage(snap, () => true);
  if (isDamaged(damage)) {
    throw new VaultError(
      VAULT_ERROR_CODES.DAMAGED,
      `prune refused: the vault is damaged (${damage.missingBlocks.length} missing blocks, ` +
        `${damage.missingPacks.length} missing packs, ` +
        `${damage.quarantinedBlocks?.length ?? 0} blocks with only quarantined copies, ` +
        `${damage.unreadableIndexes.length} unreadable indexes, ` +
        `${damage.unreadablePoints.length} unreadable points); nothing was deleted`,
      { damage },
    );
  }

  const live = new Set<string>();
  const dying = new Set<string>();
  for (const p of snap.points) for (const b of p.blockIds) (keep(p.pointId) ? live : dying).add(b);
  let blocksUnreferenced = 0;
  for (const b of dying) if (!live.has(b)) blocksUnreferenced += 1;

  const packInfo = new Map(snap.packs.map((p) => [p.packId, p]));
  // Healthy copies only: a quarantined copy never holds a live block, so it is never copied by a
  // repack and counts as unused bytes of its pack (the findDamage check above guarantees that every
  // live block has a healthy copy).
  const where = locations(snap);
  // Each live block is held by one copy; prefer the pack that is most in use (so a half-done
  // repack converges: the new pack wins over the old one), then the younger, then by id.
  const liveAll = new Map<string, number>();
  for (const b of live)
    for (const l of where.get(b) ?? []) if (packInfo.has(l.packId)) add(liveAll, l.packId, l.length);
  const held = new Map<string, SnapshotEntry>();
  for (const b of live) {
    const candidates = (where.get(b) ?? []).filter((l) => packInfo.has(l.packId));
    candidates.sort((x, y) => {
      const px = packInfo.get(x.packId)!;
      const py = packInfo.get(y.packId)!;
      const fx = (liveAll.get(x.packId) ?? 0) / px.size;
      const fy = (liveAll.get(y.packId) ?? 0) / py.size;
      if (fx !== fy) return fy - fx;
      if (px.createdMs !== py.createdMs) return py.createdMs - px.createdMs;
      return x.packId < y.packId ? -1 : x.packId > y.packId ? 1 : 0;
    });
    if (candidates[0]) held.set(b, candidates[0]);
  }
  const liveBytes = new Map<string, number>();
  for (const e of held.values()) add(liveBytes, e.packId, e.length);

  const indexed = new Set<string>();
  for (const ix of snap.indexes) for (const e of ix.entries) indexed.add(e.packId);

  const deletePacks: PrunePlan['deletePacks'] = [];
  const repackPacks: PrunePlan['repackPacks'] = [];
  let youngUnreferencedPacks = 0;
  for (const p of [...snap.packs].sort((a, b) => (a.packId < b.packId ? -1 : 1))) {
    const used = liveBytes.get(p.packId) ?? 0;
    const old = opts.nowMs - p.createdMs >= margin;
    if (used === 0) {
      if (old) deletePacks.push({ packId: p.packId, size: p.size, indexed: indexed.has(p.packId) });
      else youngUnreferencedPacks += 1;
    } else if (old && indexed.has(p.packId) && 1 - used / p.size > repackFraction) {
      repackPacks.push({ packId: p.packId, size: p.size, liveBytes: used });
    }
  }
  const doomed = new Set([...deletePacks.map((p) => p.packId), ...repackPacks.map((p) => p.packId)]);
  const repackBlocks = [...held.values()].filter((e) => doomed.has(e.packId));

  // Index blobs that name a doomed pack, or a pack that no longer exists, are replaced.
  const obsoleteIndexIds: string[] = [];
  const kept = new Map<string, SnapshotEntry>();
  const doomedEntries = new Map<string, SnapshotEntry>();
  for (const ix of snap.indexes) {
    if (!ix.entries.some((e) => doomed.has(e.packId) || !packInfo.has(e.packId))) continue;
    obsoleteIndexIds.push(ix.indexId);
  }
  const obsolete = new Set(obsoleteIndexIds);
  for (const ix of snap.indexes) {
    for (const e of ix.entries) {
      const k = `${e.blockId}/${e.packId}`;
      if (doomed.has(e.packId)) doomedEntries.set(k, e);
      else if (obsolete.has(ix.indexId) && packInfo.has(e.packId)) kept.set(k, e);
    }
  }
  const dropQuarantine = (snap.quarantined ?? []).filter(
    (q) => doomed.has(q.packId) || !packInfo.has(q.packId),
  );
  const bytesRepacked = repackBlocks.reduce((n, e) => n + e.length, 0);
  const bytesFreed =
    deletePacks.reduce((n, p) => n + p.size, 0) + repackPacks.reduce((n, p) => n + p.size, 0) - bytesRepacked;
  return {
    nowMs: opts.nowMs,
    safetyMarginMs: margin,
    snapshotPointIds: snap.points.map((p) => p.pointId).sort(),
    snapshotIndexIds: snap.indexes.map((i) => i.indexId).sort(),
    deletePoints,
    blocksUnreferenced,
    deletePacks,
    repackPacks,
    repackBlocks,
    obsoleteIndexIds: obsoleteIndexIds.sort(),
    keptEntries: [...kept.values()],
    doomedEntries: [...doomedEntries.values()],
    youngUnreferencedPacks,
    bytesFreed,
    bytesRepacked,
    staleSessions: (snap.sessions ?? [])
      .filter((s) => opts.nowMs - s.createdMs >= margin)
      .sort((a, b) => (a.sessionId < b.sessionId ? -1 : 1)),
    dropQuarantine,
  };
}

/** Where each block has a copy: its healthy copies (default) or its quarantined ones. */
function locations(
  snap: VaultSnapshot,
  which: 'healthy' | 'quarantined' = 'healthy',
): Map<string, SnapshotEntry[]> {
  const quarantined = new Set((snap.quarantined ?? []).map((q) => `${q.blockId}/${q.packId}`));
  const where = new Map<string, SnapshotEntry[]>();
  for (const ix of snap.indexes) {
    for (const e of ix.entries) {
      if (quarantined.has(`${e.blockId}/${e.packId}`) !== (which === 'quarantined')) continue;
      const list = where.get(e.blockId);
      if (!list) where.set(e.blockId, [e]);
      else if (!list.some((l) => l.packId === e.packId)) list.push(e);
    }
  }
  return where;
}

function add(m: Map<string, number>, k: string, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n);
}
