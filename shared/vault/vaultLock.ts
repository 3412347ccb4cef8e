// One writer at a time per open Vault object. A backup refreshes the vault's in-memory index,
// adds to it as packs commit, and marks it exact or not (indexView.ts); two of them interleaving on
// one Vault object (two segments of a disk backup run as concurrent activities in one host process)
// would corrupt that view. Writers on separate Vault objects (separate openVault calls, or
// processes) need no lock: they coordinate through storage (docs/design.md).
import type { Vault } from './vault';

const tails = new WeakMap<Vault, Promise<unknown>>();

/** Runs `work` after every earlier writer of this Vault object has finished. */
export function withVaultWriteLock<T>(vault: Vault, work: () => Promise<T>): Promise<T> {
  const before = tails.get(vault) ?? Promise.resolve();
  const run = before.then(work, work);
  tails.set(
    vault,
    run.catch(() => undefined),
  );
  return run;
}
