// Opens a vault: reads the config (refusing unknown format versions), unwraps the master key
// through the KeyProvider, derives the sub-keys, loads the quarantine records and then every index
// blob into memory (quarantined copies flagged, so they are never deduplicated against).
// Read order is the reverse of the write order: config → key → quarantine → indexes; points and
// manifests are read on demand.
import type { BlobStore } from '../blob/blobStore';
import { compressionOfCodec } from './blockCodec';
import { BlockIndex } from './blockIndex';
import { SEALED_KIND } from './formatIds';
import { decodeIndexFile } from './indexFile';
import type { KeyProvider } from './keyProvider';
import { markIndexExact } from './indexView';
import { loadQuarantine, QuarantineSet } from './quarantine';
import { VAULT_KEYS, type DamagedIndex, type Vault } from './vault';
import { decodeConfig } from './vaultConfig';
import { KEY_ERROR_CODES, VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import { VaultKeys } from './vaultKeys';
import { isNotFound, readSealedObject } from './vaultObjects';

export async function openVault(store: BlobStore, keyProvider: KeyProvider): Promise<Vault> {
  let configBytes: Uint8Array;
  try {
    configBytes = (await store.get(VAULT_KEYS.CONFIG)).data;
  } catch (err) {
    if (isNotFound(err)) throw new VaultError(VAULT_ERROR_CODES.NOT_FOUND, 'no vault here (config missing)');
    throw err;
  }
  const config = decodeConfig(configBytes);
  let wrapped: Uint8Array;
  try {
    wrapped = (await store.get(VAULT_KEYS.keyBlob(config.key.id))).data;
  } catch (err) {
    if (isNotFound(err)) {
      throw new VaultError(KEY_ERROR_CODES.INVALID_WRAPPED_KEY, `wrapped key ${config.key.id} is missing`);
    }
    throw err;
  }
  const vaultIdBytes = Buffer.from(config.vaultId, 'hex');
  const master = await keyProvider.unwrap({ keyId: config.key.id, wrapped }, { vaultId: config.vaultId });
  let keys: VaultKeys;
  try {
    keys = new VaultKeys(master, vaultIdBytes);
  } finally {
    master.fill(0);
  }
  const vault: Vault = {
    store,
    config,
    vaultIdBytes,
    keys,
    index: new BlockIndex(),
    indexIds: new Set(),
    damagedIndexes: [],
    quarantine: new QuarantineSet(),
    compression: compressionOfCodec(config.codec),
  };
  // Before the indexes: an entry is flagged as it is added (a healthy copy then wins whatever the
  // order of the index blobs; blockIndex.ts).
  vault.quarantine.replaceWith(await loadQuarantine(vault));
  const loaded = await loadIndexes(vault, vault.index);
  for (const id of loaded.indexIds) vault.indexIds.add(id);
  (vault.damagedIndexes as DamagedIndex[]).push(...loaded.damaged);
  markIndexExact(vault);
  return vault;
}

export interface LoadedIndexes {
  indexIds: string[];
  damaged: DamagedIndex[];
}

/**
 * Reads every `index/` blob into `index` (or, with `only`, just those ids; listing is then the
 * caller's). An unreadable one is reported, not fatal: its blocks are then missing. Entries of
 * copies in `quarantine` (default: the vault's) are added flagged (blockIndex.ts).
 */
export async function loadIndexes(
  vault: Vault,
  index: BlockIndex,
  only?: readonly string[],
  quarantine: QuarantineSet = vault.quarantine,
): Promise<LoadedIndexes> {
  const out: LoadedIndexes = { indexIds: [], damaged: [] };
  const ids = only ?? listIndexIds(vault);
  for await (const indexId of ids) {
    const key = VAULT_KEYS.index(indexId);
    try {
      const plain = await readSealedObject(vault, SEALED_KIND.INDEX, key, indexId);
      decodeIndexFile(plain, (e) => {
        const broken = quarantine.size > 0 && quarantine.has(e.blockId.toString('hex'), e.packId);
        index.add(e.blockId, { packId: e.packId, offset: e.offset, length: e.length }, broken);
      });
      out.indexIds.push(indexId);
    } catch (err) {
      if (isNotFound(err)) continue; // deleted while listing
      if (err instanceof VaultError || err instanceof Error) {
        if ((err as { code?: string }).code?.startsWith('BLOB.') && !isNotFound(err)) throw err;
        out.damaged.push({ indexId, reason: err.message });
        continue;
      }
      throw err;
    }
  }
  return out;
}

/** Ids of every `index/` blob, in listing order. */
export async function* listIndexIds(vault: Vault): AsyncGenerator<string> {
  for await (const { key } of vault.store.list(VAULT_KEYS.INDEX_PREFIX))
    yield key.slice(VAULT_KEYS.INDEX_PREFIX.length);
}
