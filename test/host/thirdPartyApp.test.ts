// `strongbox-host start <dir>` runs a standard v4 Durable Functions app that was not written for it
// (test/fixtures/third-party-app, in the shape of the official TypeScript quickstart), with no edits:
// the app is built with its own tsconfig, and its HTTP starter and createCheckStatusResponse flow work.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { startHostProcess, type HostProcess } from '../support/hostProcess';

const APP = path.resolve(__dirname, '..', 'fixtures', 'third-party-app');

let azurite: AzuriteInstance;
let host: HostProcess;

beforeAll(async () => {
  // Build the app the way its author would (`npm run build` = tsc with the app's own tsconfig).
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', APP], { stdio: 'inherit' });
  azurite = await startAzurite();
  host = await startHostProcess({ appDir: APP, connectionString: azurite.connectionString });
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

it('lists the app functions at startup as Core Tools does', () => {
  const logs = host.logs();
  expect(logs).toMatch(
    /helloOrchestratorHttpStart: \[[A-Z,]+\] http:\/\/localhost:\d+\/api\/orchestrators\/\{orchestratorName\}/,
  );
  expect(logs).toMatch(/helloOrchestratorOrchestrator: orchestrationTrigger/);
  expect(logs).toMatch(/helloOrchestrator: activityTrigger/);
});

it('runs the HTTP starter, and the status URL it returns reports the output', async () => {
  const start = await fetch(`${host.baseUrl}/api/orchestrators/helloOrchestratorOrchestrator`, {
    method: 'POST',
  });
  expect(start.status).toBe(202);
  const links = (await start.json()) as Record<string, string>;
  for (const key of [
    'id',
    'statusQueryGetUri',
    'sendEventPostUri',
    'terminatePostUri',
    'purgeHistoryDeleteUri',
  ]) {
    expect(links[key]).toBeTruthy();
  }
  let status = 0;
  let body: { runtimeStatus?: string; output?: unknown } = {};
  for (let i = 0; i < 200 && status !== 200; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(String(links.statusQueryGetUri));
    status = res.status;
    body = (await res.json()) as typeof body;
  }
  expect(status).toBe(200);
  expect(body).toMatchObject({
    runtimeStatus: 'Completed',
    output: ['Hello, Tokyo', 'Hello, Seattle', 'Hello, Cairo'],
  });
  // The purge URL the app handed out works too.
  const purge = await fetch(String(links.purgeHistoryDeleteUri), { method: 'DELETE' });
  expect(purge.status).toBe(200);
});
