// Whether an open vault's in-memory index is exactly the union of the index blobs named in
// `vault.indexIds` (loaded or written by this process). Only then may refreshIndex load just the
// index blobs it has not seen (docs/design.md, "Refreshing the index"); entries that no blob names
// yet (a committed pack before its index blob, packs adopted from a crashed run, a failed backup's
// leftovers) force a full reload. Kept beside the Vault, not in it, so the Vault type stays a plain
// description of what was opened.
import type { Vault } from './vault';

const exactViews = new WeakSet<Vault>();

/** The index now holds exactly the entries of the blobs in `vault.indexIds`. */
export function markIndexExact(vault: Vault): void {
  exactViews.add(vault);
}

/** The index holds (or may hold) entries that no blob in `vault.indexIds` names. */
export function markIndexInexact(vault: Vault): void {
  exactViews.delete(vault);
}

export function isIndexExact(vault: Vault): boolean {
  return exactViews.has(vault);
}
