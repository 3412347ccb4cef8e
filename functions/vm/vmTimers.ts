// The two timers of VM protection. Each only starts its singleton orchestration (which reads the
// host's clock and does the work in activities); a tick while the previous one still runs is skipped.
import type { InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { ENDED_STATUSES, instanceStatus } from './durableStatus';

export function startSingleton(orchestrator: string, instanceId: string) {
  return async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const client = df.getClient(context);
    const status = await instanceStatus(client, instanceId);
    if (status !== undefined && !ENDED_STATUSES.has(status)) {
      context.log(`${orchestrator}: the previous run (${instanceId}) is still ${status}; skipping this tick`);
      return;
    }
    try {
      await client.startNew(orchestrator, { instanceId });
    } catch (err) {
      // Two ticks raced (the host refuses a running id): the other one runs it.
      const now = await instanceStatus(client, instanceId);
      if (now === undefined || ENDED_STATUSES.has(now)) throw err;
    }
  };
}
