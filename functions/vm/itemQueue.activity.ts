// Activities of the item queue that need the durable client: waking a queued operation, and asking
// whether the holder of a turn has ended (so a dead holder cannot block its item forever).
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { ENDED_STATUSES, instanceStatus } from './durableStatus';
import { ITEM_TURN_EVENT } from './names';

/** Raises the turn event on a queued instance; false if it has ended (or never existed). */
export async function wakeQueuedActivity(
  input: { instanceId: string; key: string },
  context: InvocationContext,
): Promise<boolean> {
  const client = df.getClient(context);
  const status = await instanceStatus(client, input.instanceId);
  if (status === undefined || ENDED_STATUSES.has(status)) return false;
  await client.raiseEvent(input.instanceId, ITEM_TURN_EVENT, { key: input.key });
  return true;
}

export async function instanceFinishedActivity(
  instanceId: string,
  context: InvocationContext,
): Promise<boolean> {
  const status = await instanceStatus(df.getClient(context), instanceId);
  return status === undefined || ENDED_STATUSES.has(status);
}
