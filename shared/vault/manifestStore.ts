// Manifest objects: `manifests/<manifestId>`, sealed, one per source per recovery point.
import { decodeDiskManifest, encodeDiskManifest, type DiskBlockMap } from './diskManifest';
import { SEALED_KIND } from './formatIds';
import { decodeTreeManifest, encodeTreeManifest, type DirEntry, type TreeManifest } from './treeManifest';
import { VAULT_KEYS, type Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import { readSealedObject, writeSealedObject } from './vaultObjects';

export function writeDiskManifest(vault: Vault, map: DiskBlockMap): Promise<string> {
  return writeSealedObject(vault, SEALED_KIND.DISK_MANIFEST, VAULT_KEYS.manifest, encodeDiskManifest(map));
}

export function writeTreeManifest(vault: Vault, root: DirEntry): Promise<string> {
  return writeSealedObject(vault, SEALED_KIND.TREE_MANIFEST, VAULT_KEYS.manifest, encodeTreeManifest(root));
}

export async function readDiskManifest(vault: Vault, manifestId: string): Promise<DiskBlockMap> {
  const key = VAULT_KEYS.manifest(manifestId);
  const plain = await readSealedObject(vault, SEALED_KIND.DISK_MANIFEST, key, manifestId);
  try {
    return decodeDiskManifest(plain);
  } catch (err) {
    throw new VaultError(VAULT_ERROR_CODES.METADATA_CORRUPT, `${key}: ${(err as Error).message}`, { key });
  }
}

export async function readTreeManifest(vault: Vault, manifestId: string): Promise<TreeManifest> {
  const key = VAULT_KEYS.manifest(manifestId);
  const plain = await readSealedObject(vault, SEALED_KIND.TREE_MANIFEST, key, manifestId);
  try {
    return decodeTreeManifest(plain);
  } catch (err) {
    throw new VaultError(VAULT_ERROR_CODES.METADATA_CORRUPT, `${key}: ${(err as Error).message}`, { key });
  }
}
