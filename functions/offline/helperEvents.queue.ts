// Queue trigger for the helper's events (shared/offline/helperEvents.ts). A duplicate delivery is a
// no-op; an event another delivery is applying, or a storage failure, throws so the host retries it
// (and after 5 attempts moves it to strongbox-helper-events-poison, with invalid events).
import { app, type InvocationContext } from '@azure/functions';
import { applyHelperEvent, HELPER_EVENTS_QUEUE } from '../../shared/offline/helperEvents';
import type { OfflineDeps } from './offlineDeps';
import { OFFLINE_FUNCTIONS as F } from './names';

export function registerHelperEventsQueue(deps: () => OfflineDeps): void {
  app.storageQueue(F.helperEvents, {
    queueName: HELPER_EVENTS_QUEUE,
    connection: 'AzureWebJobsStorage',
    handler: async (message: unknown, context: InvocationContext) => {
      const raw: unknown = typeof message === 'string' ? (JSON.parse(message) as unknown) : message;
      const result = await applyHelperEvent(deps().helperEvents, raw);
      // The event id and outcome only: never the message (it names paths and sizes, no secrets, but
      // logs are kept small and uniform).
      const id = (raw as { id?: unknown }).id;
      context.log(`helper event ${String(id)}: ${result.applied ? result.outcome : 'duplicate, ignored'}`);
    },
  });
}
