// Reading and writing the sealed metadata objects: index blobs, manifests and recovery points.
import { BLOB_ERROR_CODES } from '../blob/blobErrors';
import { hasErrorCode } from '../errors';
import { SEALED_KIND, type SealedKind } from './formatIds';
import { randomHexId } from './hex';
import { openSealedBlob, sealBlob, SealedOpenError } from './sealedBlob';
import { VAULT_KEYS, type Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';

/** Seals `plain` and stores it under a new random id with ifNoneMatch (written once, never replaced). */
export async function writeSealedObject(
  vault: Vault,
  kind: SealedKind,
  keyOf: (id: string) => string,
  plain: Buffer,
  id = randomHexId(),
): Promise<string> {
  // Index blobs and disk manifests are incompressible; quarantine records are a few dozen bytes
  // that must open without any codec.
  const compress =
    kind === SEALED_KIND.INDEX || kind === SEALED_KIND.DISK_MANIFEST || kind === SEALED_KIND.QUARANTINE
      ? 'off'
      : vault.compression;
  const sealed = sealBlob(vault.keys, vault.vaultIdBytes, kind, id, plain, compress);
  await vault.store.put(keyOf(id), sealed, { ifNoneMatch: '*' });
  return id;
}

/** Reads and opens a sealed object; NOT_FOUND passes through, anything unreadable is METADATA_CORRUPT. */
export async function readSealedObject(
  vault: Vault,
  kind: SealedKind,
  key: string,
  id: string,
  maxPlainBytes?: number,
): Promise<Buffer> {
  const { data } = await vault.store.get(key);
  try {
    return openSealedBlob(vault.keys, vault.vaultIdBytes, kind, id, data, maxPlainBytes);
  } catch (err) {
    if (err instanceof SealedOpenError) {
      throw new VaultError(
        VAULT_ERROR_CODES.METADATA_CORRUPT,
        `${key}: ${err.message}`,
        { key },
        { cause: err },
      );
    }
    throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  return hasErrorCode(err, BLOB_ERROR_CODES.NOT_FOUND);
}

export const writeIndexObject = (vault: Vault, plain: Buffer): Promise<string> =>
  writeSealedObject(vault, SEALED_KIND.INDEX, VAULT_KEYS.index, plain);
