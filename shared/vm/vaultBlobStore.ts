// The BlobStore of one data-plane vault container in the service's own storage account: an adapter
// (the only place the VM workflows meet @azure/*), with the retrying wrapper for throttling and drops.
import { ManagedIdentityCredential } from '@azure/identity';
import { ContainerClient } from '@azure/storage-blob';
import { AzureBlobStore } from '../blob/azureBlobStore';
import type { BlobStore } from '../blob/blobStore';
import { RetryingBlobStore } from '../blob/retryingBlobStore';
import type { StorageConnection } from '../config/config';

export function vaultBlobStore(storage: StorageConnection, container: string): BlobStore {
  if (storage.kind === 'connectionString') {
    return new RetryingBlobStore(AzureBlobStore.fromConnectionString(storage.connectionString, container));
  }
  // Managed identity only (STYLE: no credential chains); the Function App's identity has blob data rights.
  const credential =
    storage.clientId === undefined
      ? new ManagedIdentityCredential()
      : new ManagedIdentityCredential({ clientId: storage.clientId });
  return new RetryingBlobStore(
    new AzureBlobStore(new ContainerClient(`${storage.endpoints.blob}/${container}`, credential)),
  );
}
