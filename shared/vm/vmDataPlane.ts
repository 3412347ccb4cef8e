// The data-plane vault behind each control-plane vault's VM backups: one vault (shared/vault) per
// (subscription, vault) in container vaultContainerName(prefix, sub, vault, 'vm'), created on the first
// backup and encrypted under the KeyProvider's key-encryption key. Opened vaults are cached per process:
// opening one reads every index blob, and segments of one backup run as separate activities.
// The master key lives only inside the opened Vault (VaultKeys redacts itself); nothing here logs it
// or returns it, and no Vault object crosses a durable boundary (activities pass names, not vaults).
import type { BlobStore } from '../blob/blobStore';
import { hasErrorCode } from '../errors';
import { createVault, openVault, VAULT_ERROR_CODES, type KeyProvider, type Vault } from '../vault';
import { vaultContainerName } from '../vaultStorage/vaultContainers';

export interface VmDataPlane {
  /** The vault for writing (backups): cached, created if missing. */
  openForBackup(sub: string, vault: string): Promise<Vault>;
  /**
   * The vault for reading (restores): cached separately from the writers' (a reader must not refresh
   * an index a writer is using), and re-opened after `invalidate` or when `fresh` is asked for.
   */
  openForRead(sub: string, vault: string, opts?: { fresh?: boolean }): Promise<Vault>;
  /** A new Vault object nobody else uses (prune). */
  openExclusive(sub: string, vault: string): Promise<Vault | undefined>;
  /** Drops this process's cached vaults (after prune: their index views are stale). */
  invalidate(sub: string, vault: string): void;
  containerOf(sub: string, vault: string): string;
}

export interface VmDataPlaneDeps {
  readonly containerPrefix: string;
  /** The BlobStore adapter over one container (Azure Blob Storage in the app, memory in tests). */
  readonly storeFor: (container: string) => BlobStore;
  /** Built on first use, so a misconfigured key source fails the first backup, not the app start. */
  readonly keyProvider: () => KeyProvider;
}

export function vmDataPlane(deps: VmDataPlaneDeps): VmDataPlane {
  const writers = new Map<string, Promise<Vault>>();
  const readers = new Map<string, Promise<Vault>>();
  const containerOf = (sub: string, vault: string) =>
    vaultContainerName(deps.containerPrefix, sub, vault, 'vm');

  const openOrCreate = async (container: string, create: boolean): Promise<Vault | undefined> => {
    const store = deps.storeFor(container);
    const keys = deps.keyProvider();
    try {
      return await openVault(store, keys);
    } catch (err) {
      if (!hasErrorCode(err, VAULT_ERROR_CODES.NOT_FOUND)) throw err;
    }
    if (!create) return undefined;
    try {
      return await createVault(store, keys);
    } catch (err) {
      // Two first backups of one vault raced: the other one created it.
      if (!hasErrorCode(err, VAULT_ERROR_CODES.ALREADY_EXISTS)) throw err;
      return openVault(store, keys);
    }
  };

  const cached = (map: Map<string, Promise<Vault>>, container: string, create: boolean): Promise<Vault> => {
    let p = map.get(container);
    if (!p) {
      p = openOrCreate(container, create).then((v) => {
        if (!v) throw new Error(`no VM backup data in container ${container} yet`);
        return v;
      });
      map.set(container, p);
      // A failed open is not cached: the next call tries again.
      void p.catch(() => map.delete(container));
    }
    return p;
  };

  return {
    containerOf,
    openForBackup: (sub, vault) => cached(writers, containerOf(sub, vault), true),
    openForRead: (sub, vault, opts = {}) => {
      const container = containerOf(sub, vault);
      if (opts.fresh) readers.delete(container);
      return cached(readers, container, false);
    },
    openExclusive: (sub, vault) => openOrCreate(containerOf(sub, vault), false),
    invalidate: (sub, vault) => {
      const container = containerOf(sub, vault);
      writers.delete(container);
      readers.delete(container);
    },
  };
}
