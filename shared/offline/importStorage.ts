// BlobStores over the service's own storage account: the import container (where the datacenter wrote
// the drives' data) and a server's vault container. An adapter: it is where @azure/* meets the port.
import { ManagedIdentityCredential } from '@azure/identity';
import { ContainerClient } from '@azure/storage-blob';
import { AzureBlobStore } from '../blob/azureBlobStore';
import type { BlobStore } from '../blob/blobStore';
import type { StorageConnection } from '../config/config';

/** The storage account name behind a connection (what an import job's storageAccount must equal). */
export function storageAccountNameOf(storage: StorageConnection): string {
  if (storage.kind === 'connectionString') {
    const m = /(?:^|;)\s*AccountName=([^;]+)/i.exec(storage.connectionString);
    if (m?.[1]) return m[1].trim();
  }
  // https://<account>.blob.core.windows.net or http://127.0.0.1:10000/<account>
  const url = new URL(storage.endpoints.blob);
  const path = url.pathname.split('/').filter(Boolean)[0];
  return path ?? url.hostname.split('.')[0] ?? '';
}

export function containerStore(storage: StorageConnection, container: string): BlobStore {
  if (storage.kind === 'connectionString') {
    return AzureBlobStore.fromConnectionString(storage.connectionString, container);
  }
  const credential =
    storage.clientId === undefined
      ? new ManagedIdentityCredential()
      : new ManagedIdentityCredential({ clientId: storage.clientId });
  return new AzureBlobStore(new ContainerClient(`${storage.endpoints.blob}/${container}`, credential));
}
