// Durable Functions end to end: the compiled host runs test/fixtures/durable-app on a real Azurite,
// and the tests drive it over HTTP with the real DurableClient (and the app's own HTTP starter).
import * as path from 'node:path';
import * as df from 'durable-functions';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { durableClientFor, waitForFinish, waitForStatus } from '../support/durableClient';
import { startHostProcess, type HostProcess } from '../support/hostProcess';

const APP = path.resolve(__dirname, '..', 'fixtures', 'durable-app');
const HUB = 'FixtureHub';
const DAY_MS = 86_400_000;

let azurite: AzuriteInstance;
let host: HostProcess;
let client: df.DurableClient;

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startHostProcess({ appDir: APP, connectionString: azurite.connectionString });
  client = durableClientFor(host, HUB);
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

async function advanceClock(days: number): Promise<void> {
  const res = await host.fetch('/admin/host/clock', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advanceMs: days * DAY_MS }),
  });
  expect(res.status).toBe(200);
}

describe('durable functions on the local host', () => {
  it('chains activities, started through the app HTTP starter and createCheckStatusResponse', async () => {
    const res = await fetch(`${host.baseUrl}/api/orchestrators/chain`, { method: 'POST' });
    expect(res.status).toBe(202);
    const links = (await res.json()) as { id: string; statusQueryGetUri: string; sendEventPostUri: string };
    expect(links.statusQueryGetUri).toContain(`/runtime/webhooks/durabletask/instances/${links.id}`);
    expect(res.headers.get('location')).toBe(links.statusQueryGetUri);
    // Poll the URL the app handed out, exactly as a caller of the starter would.
    let body: { runtimeStatus: string; output: unknown; customStatus: unknown } | undefined;
    for (let i = 0; i < 200; i++) {
      const status = await fetch(links.statusQueryGetUri);
      body = (await status.json()) as typeof body;
      if (status.status === 200) break;
      expect(status.status).toBe(202);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toMatchObject({
      runtimeStatus: 'Completed',
      output: ['Hello Tokyo', 'Hello Seattle', 'Hello London'],
      customStatus: { step: 3 },
    });
  });

  it('fans out to 100 activities and fans in', async () => {
    const id = await client.startNew('fanOut', { input: 100 });
    const status = await waitForFinish(client, id);
    expect(status.runtimeStatus).toBe('Completed');
    // sum of 2*i for i in 0..99
    expect(status.output).toBe(9900);
  });

  it('lets an external event win the race against a 14-day timer', async () => {
    const id = await client.startNew('approval');
    await waitForStatus(client, id, (s) =>
      (s.history ?? []).some((e) => (e as { EventType: string }).EventType === 'TimerCreated'),
    );
    await client.raiseEvent(id, 'Approval', { by: 'ann' });
    const status = await waitForFinish(client, id);
    expect(status.output).toEqual({ approved: { by: 'ann' } });
    // Raising an event to a finished instance is refused (410), which the client treats as done.
    const late = await host.fetch(`/runtime/webhooks/durabletask/instances/${id}/raiseEvent/Approval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(late.status).toBe(410);
  });

  it('lets the timer win when the clock is fast-forwarded 14 days', async () => {
    const id = await client.startNew('approval');
    await waitForStatus(client, id, (s) =>
      (s.history ?? []).some((e) => (e as { EventType: string }).EventType === 'TimerCreated'),
    );
    await advanceClock(14.01);
    const status = await waitForFinish(client, id);
    expect(status.output).toBe('timeout');
    // The 14-day timer was split into segments of at most 3 days by the library (schema V3).
    const full = await client.getStatus(id, { showHistory: true });
    const timers = (full.history ?? []).filter(
      (e) => (e as { EventType: string }).EventType === 'TimerCreated',
    );
    expect(timers.length).toBeGreaterThanOrEqual(1);
  });

  it('runs a sub-orchestration', async () => {
    const id = await client.startNew('parent');
    const status = await waitForFinish(client, id);
    expect(status.output).toEqual({ child: ['Hello Tokyo', 'Hello Seattle', 'Hello London'] });
    const child = await client.getStatus(`${id}:0`);
    expect(child.runtimeStatus).toBe('Completed');
  });

  it('keeps a counter entity: signals from an orchestration and from the client, and a call', async () => {
    const id = await client.startNew('counterUser', { input: 'k1' });
    expect((await waitForFinish(client, id)).output).toBe(12);
    const entity = new df.EntityId('counter', 'k2');
    await client.signalEntity(entity, 'add', 3);
    await client.signalEntity(entity, 'add', 4);
    let state: df.EntityStateResponse<number> | undefined;
    for (let i = 0; i < 100; i++) {
      state = await client.readEntityState<number>(entity);
      if (state.entityExists && state.entityState === 7) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toMatchObject({ entityExists: true, entityState: 7 });
    const viaApp = await fetch(`${host.baseUrl}/api/counter/k1`);
    expect(await viaApp.json()).toEqual({ exists: true, value: 12 });
  });

  it('continues as new until done, keeping only the last execution', async () => {
    const id = await client.startNew('countdown', { input: 4 });
    const status = await waitForFinish(client, id);
    expect(status.output).toBe('liftoff');
    const full = await client.getStatus(id, { showHistory: true, showInput: true });
    expect(full.input).toBe(0);
    const activities = (full.history ?? []).filter(
      (e) => (e as { EventType: string }).EventType === 'TaskCompleted',
    );
    expect(activities).toHaveLength(0);
  });

  it('retries a failing activity, then fails the orchestration with its message', async () => {
    const before = (host.logs().match(/Executed 'Functions\.alwaysFails' \(Failed/g) ?? []).length;
    const id = await client.startNew('retrying');
    const status = await waitForFinish(client, id);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain('boom: step-1 failed');
    const after = (host.logs().match(/Executed 'Functions\.alwaysFails' \(Failed/g) ?? []).length;
    expect(after - before).toBe(3);
  });

  it('lets an orchestration catch an activity failure', async () => {
    const id = await client.startNew('catchesFailure');
    const status = await waitForFinish(client, id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(String(status.output)).toContain('boom: x failed');
  });

  it('terminates, lists and purges instances', async () => {
    const id = await client.startNew('approval', { instanceId: 'to-terminate' });
    await waitForStatus(client, id, (s) => s.runtimeStatus === df.OrchestrationRuntimeStatus.Running);
    await client.terminate(id, 'no longer needed');
    const status = await waitForFinish(client, id);
    expect(status.runtimeStatus).toBe('Terminated');
    expect(status.output).toBe('no longer needed');
    const terminated = await client.getStatusBy({
      runtimeStatus: [df.OrchestrationRuntimeStatus.Terminated],
    });
    expect(terminated.map((s) => s.instanceId)).toContain(id);
    const purge = await client.purgeInstanceHistory(id);
    expect(purge.instancesDeleted).toBe(1);
    const gone = await host.fetch(`/runtime/webhooks/durabletask/instances/${id}`);
    expect(gone.status).toBe(404);
  });

  it('refuses the management API without the system key', async () => {
    const res = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances/whatever`);
    expect(res.status).toBe(401);
  });

  it('answers 400 for an unknown orchestrator and for a bad JSON input', async () => {
    const unknown = await host.fetch('/runtime/webhooks/durabletask/orchestrators/noSuchThing', {
      method: 'POST',
      body: '',
    });
    expect(unknown.status).toBe(400);
    const bad = await host.fetch('/runtime/webhooks/durabletask/orchestrators/chain', {
      method: 'POST',
      body: '{not json',
    });
    expect(bad.status).toBe(400);
  });
});
