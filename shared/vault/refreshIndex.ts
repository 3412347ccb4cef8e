// Reloads a vault's in-memory index from storage and adopts packs that no index names (item
// "resumable": a crashed backup's packs written after its last index blob). `index/` is listed (an
// open vault's view goes stale when a prune or another backup runs): if every index blob the view
// was built from is still there and the view holds nothing else (indexView.ts), only the new blobs
// are read; otherwise every blob is re-read into a fresh index. Then `packs/` is listed; a pack missing from the index and younger than UNINDEXED_PACK_MAX_AGE_MS is read alone
// (trailer → sealed header) and its entries are added. A pack that does not parse is reported and
// ignored. Older unindexed packs are garbage for prune and are never adopted (docs/design.md,
// "Prune": prune collects an unindexed pack only past GC_SAFETY_MARGIN_MS, which is larger).
import { BlockIndex } from './blockIndex';
import type { IndexFileEntry } from './indexFile';
import { isIndexExact, markIndexExact, markIndexInexact } from './indexView';
import { listIndexIds, loadIndexes, type LoadedIndexes } from './openVault';
import { packCreatedMs, PackUnreadableError, readPackHeader } from './packHeaderReader';
import { loadQuarantine } from './quarantine';
import { VAULT_KEYS, packIdOfKey, type DamagedIndex, type Vault } from './vault';

/** 23 h: a pack no index names is relied on only while younger than this (< GC_SAFETY_MARGIN_MS). */
export const UNINDEXED_PACK_MAX_AGE_MS = 23 * 60 * 60 * 1000;

export interface AdoptedPack {
  packId: string;
  createdMs: number;
  blocks: number;
}

export interface TornPack {
  packId: string;
  reason: string;
}

export interface RefreshResult {
  /** Unindexed packs whose entries were rebuilt from their headers. Not yet in any index blob. */
  adopted: AdoptedPack[];
  /** Their entries, for the caller to write into an index blob before anything references them. */
  adoptedEntries: IndexFileEntry[];
  /** Unindexed packs that do not parse; never indexed. */
  torn: TornPack[];
  /** Unindexed packs too old to adopt (left to prune). */
  tooOld: string[];
}

export interface RefreshOptions {
  /** false: reload the index only. Default true. */
  adopt?: boolean;
  nowMs?: number;
  unindexedPackMaxAgeMs?: number;
}

export async function refreshIndex(vault: Vault, opts: RefreshOptions = {}): Promise<RefreshResult> {
  const listed: string[] = [];
  for await (const id of listIndexIds(vault)) listed.push(id);
  const present = new Set(listed);
  // A copy quarantined since the view was built (by verify, here or elsewhere) may be the entry the
  // view kept while a healthy copy of the same id was dropped as a duplicate: only a full re-read
  // flags it and lets the healthy copy win (blockIndex.ts). Records that went away (prune deleted
  // their pack) need nothing: the index blobs naming that pack went first.
  const quarantine = await loadQuarantine(vault);
  // Index blobs are immutable and only prune deletes them, so a view whose blobs all still exist
  // only lacks the new ones (no re-read, no re-decrypt: docs/design.md, "Refreshing the index").
  const incremental =
    isIndexExact(vault) &&
    [...vault.indexIds].every((id) => present.has(id)) &&
    vault.quarantine.containsAll(quarantine);
  markIndexInexact(vault); // until this refresh completes
  let index: BlockIndex;
  let loaded: LoadedIndexes;
  if (incremental) {
    index = vault.index;
    loaded = await loadIndexes(
      vault,
      index,
      listed.filter((id) => !vault.indexIds.has(id)),
      quarantine,
    );
  } else {
    index = new BlockIndex(Math.max(1024, vault.index.size));
    loaded = await loadIndexes(vault, index, listed, quarantine);
  }
  const result: RefreshResult = { adopted: [], adoptedEntries: [], torn: [], tooOld: [] };
  if (opts.adopt !== false) {
    const indexed = new Set(index.packs);
    const nowMs = opts.nowMs ?? Date.now();
    const maxAge = opts.unindexedPackMaxAgeMs ?? UNINDEXED_PACK_MAX_AGE_MS;
    for await (const { key, size } of vault.store.list(VAULT_KEYS.PACKS_PREFIX)) {
      const packId = packIdOfKey(key);
      if (!packId || indexed.has(packId)) continue;
      const stat = await vault.store.stat(key);
      if (!stat) continue; // deleted while listing
      const createdMs = packCreatedMs(stat);
      if (nowMs - createdMs >= maxAge) {
        result.tooOld.push(packId);
        continue;
      }
      try {
        const entries = await readPackHeader(vault, packId, size);
        for (const e of entries) {
          const entry = { packId, offset: e.offset, length: e.length };
          const broken = quarantine.has(e.blockId.toString('hex'), packId);
          if (index.add(e.blockId, entry, broken))
            result.adoptedEntries.push({ blockId: e.blockId, ...entry });
        }
        result.adopted.push({ packId, createdMs, blocks: entries.length });
      } catch (err) {
        if (!(err instanceof PackUnreadableError)) throw err;
        result.torn.push({ packId, reason: err.message });
      }
    }
  }
  if (!incremental) {
    vault.index.replaceWith(index);
    vault.indexIds.clear();
  }
  vault.quarantine.replaceWith(quarantine);
  for (const id of loaded.indexIds) vault.indexIds.add(id);
  // Adopted entries are named by no blob until the backup writes its index blob (backup.ts marks
  // the view exact again after that).
  if (result.adoptedEntries.length === 0) markIndexExact(vault);
  const damaged = vault.damagedIndexes as DamagedIndex[];
  damaged.length = 0;
  damaged.push(...loaded.damaged);
  return result;
}
