// The last step of a backup: confirm that every block the point references is still indexed, write
// a "reference index" for the blocks it took from other writers' packs, and write the point within
// POINT_WRITE_WINDOW_MS of the confirmation. This is the backup's half of the protocol that lets
// prune run concurrently without a lock (docs/design.md, "Prune and a concurrent backup"):
//   1. list `index/`. If every index blob this backup's view was loaded from still exists, no prune
//      has passed its barrier (deleting the index blobs that name the packs it will delete) since
//      the view was loaded. Otherwise reload the index and check that every referenced block is
//      still indexed and its pack exists; if not, VAULT.CONCURRENT_PRUNE (the caller re-runs).
//   2. write an index blob naming every referenced block that lives in a pack this backup did not
//      write (dedup against older data, or a pack adopted from a crashed run). Prune keeps every
//      pack that an index written after its plan snapshot names.
//   3. write the point, issued within the window measured from the start of step 1; if the window
//      has passed, go back to step 1. Prune waits PRUNE_GRACE_MS (> the window plus a request
//      timeout) after its barrier before it re-lists and deletes packs.
import { BlockIndex } from './blockIndex';
import { encodeIndexFile, type IndexFileEntry } from './indexFile';
import { refreshIndex } from './refreshIndex';
import { writePoint, type RecoveryPoint } from './recoveryPoint';
import { VAULT_KEYS, packIdOfKey, type Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import { writeIndexObject } from './vaultObjects';

/** 60 s from the index check to issuing the point's put. Must stay well below PRUNE_GRACE_MS. */
export const POINT_WRITE_WINDOW_MS = 60 * 1000;
const MAX_CHECKS = 5;

export interface CommitContext {
  /** Calls `visit` with every block id the point references (a view, valid during the call); may repeat ids. */
  forEachRef: (visit: (blockId: Buffer) => void) => void;
  /** Packs written by this backup (protected by prune's age margin, not by the reference index). */
  ownPacks: ReadonlySet<string>;
  /** Unindexed packs adopted at the start, with their creation times. */
  adoptedPacks: ReadonlyMap<string, number>;
  startedMs: number;
  nowMs: () => number;
  unindexedPackMaxAgeMs: number;
  pointWriteWindowMs?: number;
  /**
   * Reload the index and check every referenced block (indexed, pack present) on the first check,
   * whatever the view: for a point whose blocks were classified by other processes against other
   * views (segmented disk backups, diskSegments.ts).
   */
  reloadFirst?: boolean;
  /** Monotonic clock for the window (tests inject one). */
  monotonicMs?: () => number;
}

export interface CommitResult {
  referenceIndexes: number;
  reloads: number;
}

export async function commitPoint(
  vault: Vault,
  point: RecoveryPoint,
  ctx: CommitContext,
): Promise<CommitResult> {
  const windowMs = ctx.pointWriteWindowMs ?? POINT_WRITE_WINDOW_MS;
  const mono = ctx.monotonicMs ?? (() => performance.now());
  const result: CommitResult = { referenceIndexes: 0, reloads: 0 };
  // The distinct referenced ids, as binary ids in a flat table (no hex strings: ~32K ids per 2 GiB).
  const ids = new BlockIndex();
  ctx.forEachRef((id) => ids.add(id, NO_ENTRY));

  // Packs without an index blob are relied on only while younger than the adoption limit, which is
  // below prune's margin: a prune can only have planned to collect them past it.
  const nowMs = ctx.nowMs();
  const tooOld = [...ctx.adoptedPacks].find(([, created]) => nowMs - created >= ctx.unindexedPackMaxAgeMs);
  if (tooOld || nowMs - ctx.startedMs >= ctx.unindexedPackMaxAgeMs) {
    throw new VaultError(
      VAULT_ERROR_CODES.CONCURRENT_PRUNE,
      'backup ran longer than the unindexed-pack age limit; its unindexed packs may have been collected',
      tooOld ? { packId: tooOld[0] } : {},
    );
  }

  for (let check = 1; check <= MAX_CHECKS; check += 1) {
    const checkedAt = mono();
    const present = new Set<string>();
    for await (const { key } of vault.store.list(VAULT_KEYS.INDEX_PREFIX))
      present.add(key.slice(VAULT_KEYS.INDEX_PREFIX.length));
    if ((ctx.reloadFirst && check === 1) || [...vault.indexIds].some((id) => !present.has(id))) {
      result.reloads += 1;
      await refreshIndex(vault, { adopt: false });
      await assertStillIndexed(vault, ids);
    }
    const foreign: IndexFileEntry[] = [];
    ids.forEach((blockId) => {
      const entry = vault.index.get(blockId);
      if (!entry) {
        const hexId = blockId.toString('hex');
        throw new VaultError(VAULT_ERROR_CODES.CONCURRENT_PRUNE, `block ${hexId} left the index`, {
          blockId: hexId,
        });
      }
      if (!ctx.ownPacks.has(entry.packId)) foreign.push({ blockId: Buffer.from(blockId), ...entry });
    });
    if (foreign.length > 0) {
      vault.indexIds.add(await writeIndexObject(vault, encodeIndexFile(foreign)));
      result.referenceIndexes += 1;
    }
    if (mono() - checkedAt > windowMs) continue; // too slow: the check no longer covers the put
    await writePoint(vault, point); // LAST: only now does the point exist
    return result;
  }
  throw new VaultError(
    VAULT_ERROR_CODES.CONCURRENT_PRUNE,
    `could not write the point within ${windowMs} ms of an index check (${MAX_CHECKS} tries)`,
  );
}

/** After a reload: every referenced block is indexed and its pack exists, else CONCURRENT_PRUNE. */
async function assertStillIndexed(vault: Vault, ids: BlockIndex): Promise<void> {
  const packs = new Set<string>();
  for await (const { key } of vault.store.list(VAULT_KEYS.PACKS_PREFIX)) {
    const packId = packIdOfKey(key);
    if (packId) packs.add(packId);
  }
  ids.forEach((blockId) => {
    const entry = vault.index.get(blockId);
    if (!entry || !packs.has(entry.packId)) {
      const hexId = blockId.toString('hex');
      throw new VaultError(
        VAULT_ERROR_CODES.CONCURRENT_PRUNE,
        `block ${hexId} was removed by a concurrent prune before the point was written`,
        { blockId: hexId, ...(entry ? { packId: entry.packId } : {}) },
      );
    }
  });
}

/** commitPoint uses a BlockIndex as a set of ids; the entry is unused. */
const NO_ENTRY = { packId: '', offset: 0, length: 0 };
