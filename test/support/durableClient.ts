// The real durable-functions DurableClient, pointed at a test host. It is built through the library's
// public getClient() from the same binding data the host hands to functions, so tests exercise the
// exact HTTP calls an app's own client makes.
import { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { HostProcess } from './hostProcess';

export function durableClientFor(host: HostProcess, hubName: string): df.DurableClient {
  const input = df.input.durableClient();
  const context = new InvocationContext({ options: { extraInputs: [input] } });
  const webhook = `${host.baseUrl}/runtime/webhooks/durabletask`;
  const code = `code=${host.masterKey}`;
  const qs = `taskHub=${hubName}&connection=Storage&${code}`;
  const instance = `${webhook}/instances/INSTANCEID`;
  context.extraInputs.set(input, {
    taskHubName: hubName,
    creationUrls: {
      createNewInstancePostUri: `${webhook}/orchestrators/{functionName}[/{instanceId}]?${code}`,
      createAndWaitOnNewInstancePostUri: `${webhook}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${code}`,
    },
    managementUrls: {
      id: 'INSTANCEID',
      statusQueryGetUri: `${instance}?${qs}`,
      sendEventPostUri: `${instance}/raiseEvent/{eventName}?${qs}`,
      terminatePostUri: `${instance}/terminate?reason={text}&${qs}`,
      rewindPostUri: `${instance}/rewind?reason={text}&${qs}`,
      purgeHistoryDeleteUri: `${instance}?${qs}`,
      restartPostUri: `${instance}/restart?${qs}`,
      suspendPostUri: `${instance}/suspend?reason={text}&${qs}`,
      resumePostUri: `${instance}/resume?reason={text}&${qs}`,
    },
    baseUrl: webhook,
    requiredQueryStringParameters: code,
  });
  // getClient rewrites origins to localhost:7071 unless WEBSITE_HOSTNAME is set (notes §1.3).
  const saved = process.env.WEBSITE_HOSTNAME;
  process.env.WEBSITE_HOSTNAME = host.baseUrl.replace(/^http:\/\//, '');
  try {
    return df.getClient(context);
  } finally {
    if (saved === undefined) delete process.env.WEBSITE_HOSTNAME;
    else process.env.WEBSITE_HOSTNAME = saved;
  }
}

const FINISHED = ['Completed', 'Failed', 'Terminated'];

/** Polls until the instance has finished; fails with its last status if it does not within the time. */
export async function waitForFinish(
  client: df.DurableClient,
  instanceId: string,
  timeoutMs = 30_000,
): Promise<df.DurableOrchestrationStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await client.getStatus(instanceId);
    if (FINISHED.includes(String(status.runtimeStatus))) return status;
    if (Date.now() > deadline) {
      throw new Error(
        `Instance ${instanceId} did not finish within ${timeoutMs} ms: ${JSON.stringify(status)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls until `predicate(status)` holds. */
export async function waitForStatus(
  client: df.DurableClient,
  instanceId: string,
  predicate: (s: df.DurableOrchestrationStatus) => boolean,
  timeoutMs = 30_000,
): Promise<df.DurableOrchestrationStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await client.getStatus(instanceId, { showHistory: true });
    if (predicate(status)) return status;
    if (Date.now() > deadline)
      throw new Error(`Condition not met for ${instanceId}: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
