// Adapter: the secrets file in Azure Blob Storage (Azurite locally), at the real host's path:
// container `azure-webjobs-secrets`, blob `<hostId>/host.json`.
import { BlobServiceClient, RestError, type ContainerClient } from '@azure/storage-blob';
import { parseStoredHostSecrets, type StoredHostSecrets } from './hostKeys';
import type { SecretStore, StoredSecretsVersion } from './secretStore';

export const SECRETS_CONTAINER = 'azure-webjobs-secrets';

export class AzureBlobSecretStore implements SecretStore {
  readonly location: string;
  private readonly container: ContainerClient;
  private readonly blobName: string;

  constructor(connectionString: string, hostId: string) {
    this.container =
      BlobServiceClient.fromConnectionString(connectionString).getContainerClient(SECRETS_CONTAINER);
    this.blobName = `${hostId}/host.json`;
    this.location = `blob ${SECRETS_CONTAINER}/${this.blobName} in AzureWebJobsStorage`;
  }

  async read(): Promise<StoredSecretsVersion | undefined> {
    const blob = this.container.getBlockBlobClient(this.blobName);
    try {
      // One download gives body and ETag together, so the version matches the content read.
      const res = await blob.download();
      const text = await readAll(res.readableStreamBody);
      return { secrets: parseStoredHostSecrets(text), version: res.etag ?? '' };
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async write(secrets: StoredHostSecrets, expectedVersion: string | undefined): Promise<boolean> {
    await this.container.createIfNotExists();
    const body = JSON.stringify(secrets, null, 2);
    try {
      await this.container.getBlockBlobClient(this.blobName).upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
        conditions: expectedVersion === undefined ? { ifNoneMatch: '*' } : { ifMatch: expectedVersion },
      });
      return true;
    } catch (err) {
      // 409 BlobAlreadyExists (ifNoneMatch) or 412 ConditionNotMet (ifMatch): another host won.
      if (isStatus(err, 409) || isStatus(err, 412)) return false;
      throw err;
    }
  }
}

function isStatus(err: unknown, status: number): boolean {
  return err instanceof RestError && err.statusCode === status;
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
