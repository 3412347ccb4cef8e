// The durable client's answers, translated at the edge: getStatus rejects with a plain Error for an
// unknown instance (HTTP 404), which must not be confused with a failed request.
import type { DurableClient } from 'durable-functions';

export const ENDED_STATUSES: ReadonlySet<string> = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/** The runtime status of an instance, or undefined if no instance has that id. */
export async function instanceStatus(client: DurableClient, instanceId: string): Promise<string | undefined> {
  try {
    return (await client.getStatus(instanceId)).runtimeStatus;
  } catch (err) {
    if (err instanceof Error && /HTTP 404 response/.test(err.message)) return undefined;
    throw err;
  }
}
