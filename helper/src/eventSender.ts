// Sends helper events (shared/offline/helperEvents.ts) to the service: on the Storage Queue when the
// service issued an add-only queue SAS, otherwise over HTTP. Each event carries an idempotency key, so
// a retry after a lost acknowledgement (or a message the queue delivers twice) has one effect.
import { QueueClient } from '@azure/storage-queue';
import type { HelperEvent } from '../../shared/offline/helperEvents';
import type { DataAccessGrant, ServiceClient, VaultRef } from './serviceClient';

export async function sendHelperEvent(
  event: HelperEvent,
  grant: DataAccessGrant,
  client: ServiceClient,
  v: VaultRef,
  server: string,
): Promise<'queue' | 'http'> {
  if (grant.events) {
    // The host decodes queue messages as base64 (host.json messageEncoding, the Functions default).
    await new QueueClient(grant.events.queueUrl).sendMessage(
      Buffer.from(JSON.stringify(event)).toString('base64'),
    );
    return 'queue';
  }
  await client.postEvent(v, server, event);
  return 'http';
}
