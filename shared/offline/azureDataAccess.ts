// DataAccess adapter on Azure Storage. With an account-key connection string (Azurite, or a real account
// configured by key) it signs service SAS tokens with the key; with a managed identity it asks for a user
// delegation key (blob only: the Queue service has no user-delegation SAS, so helpers then send their
// events over HTTP). SDK errors are translated into OFFLINE.STORAGE_FAILED here (STYLE §3).
import { ManagedIdentityCredential } from '@azure/identity';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
  type ContainerClient,
} from '@azure/storage-blob';
import {
  QueueSASPermissions,
  QueueServiceClient,
  StorageSharedKeyCredential as QueueSharedKeyCredential,
  generateQueueSASQueryParameters,
} from '@azure/storage-queue';
import type { StorageConnection } from '../config/config';
import type { ContainerAccess, DataAccess, QueueAccess } from './dataAccess';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';

/** What a helper may do in its container: read, add, create, write, list. Never delete. */
export const HELPER_CONTAINER_PERMISSIONS = 'racwl';
/** What a helper may do on the events queue: add messages, nothing else. */
export const HELPER_QUEUE_PERMISSIONS = 'a';
/** Azure: a SAS start time a little in the past absorbs clock skew between us and the service. */
const SAS_START_SKEW_MS = 5 * 60 * 1000;

function parts(connectionString: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

function failed(what: string, err: unknown): OfflineError {
  const status = (err as { statusCode?: number } | undefined)?.statusCode;
  return new OfflineError(
    OFFLINE_ERROR_CODES.STORAGE_FAILED,
    `${what} failed (${status !== undefined ? `HTTP ${status}` : 'error'})`,
    {},
    { cause: err },
  );
}

export function azureDataAccess(storage: StorageConnection): DataAccess {
  let blob: BlobServiceClient;
  let queues: QueueServiceClient | undefined;
  let key: { name: string; key: string } | undefined;
  if (storage.kind === 'connectionString') {
    const p = parts(storage.connectionString);
    const name = p.get('AccountName');
    const accountKey = p.get('AccountKey');
    if (name && accountKey) key = { name, key: accountKey };
    blob = BlobServiceClient.fromConnectionString(storage.connectionString);
    queues = QueueServiceClient.fromConnectionString(storage.connectionString);
  } else {
    const credential =
      storage.clientId === undefined
        ? new ManagedIdentityCredential()
        : new ManagedIdentityCredential({ clientId: storage.clientId });
    blob = new BlobServiceClient(storage.endpoints.blob, credential);
  }

  const withSas = (client: ContainerClient, sas: string): string => `${client.url}?${sas}`;

  return {
    async ensureContainer(container) {
      try {
        await blob.getContainerClient(container).createIfNotExists();
      } catch (err) {
        throw failed(`creating container ${container}`, err);
      }
    },
    async containerSas(container, now, validityMs): Promise<ContainerAccess> {
      const startsOn = new Date(now.getTime() - SAS_START_SKEW_MS);
      const expiresOn = new Date(now.getTime() + validityMs);
      const client = blob.getContainerClient(container);
      const values = {
        containerName: container,
        permissions: ContainerSASPermissions.parse(HELPER_CONTAINER_PERMISSIONS),
        startsOn,
        expiresOn,
      };
      try {
        if (key) {
          const sas = generateBlobSASQueryParameters(
            values,
            new StorageSharedKeyCredential(key.name, key.key),
          ).toString();
          return { containerUrl: withSas(client, sas), expiresTime: expiresOn.toISOString() };
        }
        const delegation = await blob.getUserDelegationKey(startsOn, expiresOn);
        const sas = generateBlobSASQueryParameters(values, delegation, blob.accountName).toString();
        return { containerUrl: withSas(client, sas), expiresTime: expiresOn.toISOString() };
      } catch (err) {
        throw failed(`issuing access to container ${container}`, err);
      }
    },
    async queueSas(queue, now, validityMs): Promise<QueueAccess | undefined> {
      if (!key || !queues) return undefined;
      const client = queues.getQueueClient(queue);
      try {
        await client.createIfNotExists();
      } catch (err) {
        throw failed(`creating queue ${queue}`, err);
      }
      const expiresOn = new Date(now.getTime() + validityMs);
      const sas = generateQueueSASQueryParameters(
        {
          queueName: queue,
          permissions: QueueSASPermissions.parse(HELPER_QUEUE_PERMISSIONS),
          startsOn: new Date(now.getTime() - SAS_START_SKEW_MS),
          expiresOn,
        },
        new QueueSharedKeyCredential(key.name, key.key),
      ).toString();
      return { queueUrl: `${client.url}?${sas}`, expiresTime: expiresOn.toISOString() };
    },
  };
}
