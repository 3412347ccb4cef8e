// The helper's data plane: its own vault, in the server's container, reached with the short-lived SAS
// the service issues (POST .../servers/{server}/dataAccess), and the staging location for offline
// seeding. Staging starts as a copy of the server vault's `config` and wrapped key, so the staged backup
// IS the server's vault (same vault id, same master key): the service can copy it in object by object,
// and the online incrementals after seeding deduplicate against it.
import type { ContainerCreateIfNotExistsResponse } from '@azure/storage-blob';
import { ContainerClient } from '@azure/storage-blob';
import { mkdir } from 'node:fs/promises';
import { AzureBlobStore } from '../../shared/blob/azureBlobStore';
import type { BlobStore } from '../../shared/blob/blobStore';
import { LocalDirBlobStore } from '../../shared/blob/localDirBlobStore';
import { createVault, openVault, passphraseKeyProvider, type Vault } from '../../shared/vault';

/**
 * A container SAS cannot create containers (the service created it at registration), and
 * AzureBlobStore asks for it before its first call; answer "it exists" instead.
 */
class ExistingContainerClient extends ContainerClient {
  override createIfNotExists(): Promise<ContainerCreateIfNotExistsResponse> {
    return Promise.resolve({ succeeded: false } as ContainerCreateIfNotExistsResponse);
  }
}

export function sasContainerStore(containerUrl: string): BlobStore {
  return new AzureBlobStore(new ExistingContainerClient(containerUrl));
}

/** Opens the server's vault, creating it on first use (register sets the passphrase this way). */
export async function openOrCreateVault(
  store: BlobStore,
  passphrase: string,
): Promise<{ vault: Vault; created: boolean }> {
  const keys = passphraseKeyProvider(passphrase);
  if ((await store.stat('config')) === undefined)
    return { vault: await createVault(store, keys), created: true };
  return { vault: await openVault(store, keys), created: false };
}

/** The staging vault: a local directory holding a clone of the server vault's config and key. */
export async function openStaging(stagingDir: string, server: BlobStore, passphrase: string): Promise<Vault> {
  await mkdir(stagingDir, { recursive: true });
  const staging = new LocalDirBlobStore(stagingDir);
  if ((await staging.stat('config')) === undefined) {
    const keys: string[] = [];
    for await (const e of server.list('keys/')) keys.push(e.key);
    for (const key of keys) {
      if ((await staging.stat(key)) === undefined) {
        await staging.put(key, (await server.get(key)).data, { ifNoneMatch: '*' });
      }
    }
    // config last: a staging directory with a config is complete.
    await staging.put('config', (await server.get('config')).data, { ifNoneMatch: '*' });
  }
  return openVault(staging, passphraseKeyProvider(passphrase));
}
