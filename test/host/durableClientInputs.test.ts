// A `durableClient` input binding works on every trigger, not only HTTP (the real host binds it
// everywhere): a timer starts an orchestration with df.app.client.timer, and an activity raises an
// event on another instance with its own client. Run `npx tsc -p tsconfig.json` first.
import * as path from 'node:path';
import type * as df from 'durable-functions';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { durableClientFor, waitForFinish } from '../support/durableClient';
import { startHostProcess, type HostProcess } from '../support/hostProcess';

const APP = path.resolve(__dirname, '..', 'fixtures', 'durable-client-app');

let azurite: AzuriteInstance;
let host: HostProcess;
let client: df.DurableClient;

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startHostProcess({ appDir: APP, connectionString: azurite.connectionString });
  client = durableClientFor(host, 'ClientHub');
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

it('binds a durable client for a timer trigger and for an activity', async () => {
  // Fire the every-minute timer by moving the clock past its next occurrence.
  const res = await host.fetch('/admin/host/clock', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advanceMs: 61_000 }),
  });
  expect(res.status).toBe(200);
  // getStatus throws until the instance exists.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await client.getStatus('from-timer').catch(() => undefined);
    if (String(status?.runtimeStatus) === 'Running') break;
    if (Date.now() > deadline) throw new Error(`the timer did not start the instance. Logs:\n${host.logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const poker = await client.startNew('poker', { input: 'from-timer' });
  expect((await waitForFinish(client, poker)).output).toBe('raised');
  const waiter = await waitForFinish(client, 'from-timer');
  expect(waiter.runtimeStatus).toBe('Completed');
  expect(waiter.output).toEqual({ from: 'activity' });
}, 60_000);
