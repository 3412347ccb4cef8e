// Kill test: SIGKILL the host while a 50-activity orchestration is in flight, restart it on the same
// Azurite data, and the orchestration completes with the right output. Nothing acknowledged is lost,
// and only work in flight at the kill is repeated.
import * as os from 'node:os';
import * as path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { durableClientFor, waitForFinish, waitForStatus } from '../support/durableClient';
import { startHostProcess, type HostProcess } from '../support/hostProcess';

const APP = path.resolve(__dirname, '..', 'fixtures', 'durable-app');
const HUB = 'FixtureHub';
const STEPS = 50;

let azurite: AzuriteInstance;
const hosts: HostProcess[] = [];

beforeAll(async () => {
  azurite = await startAzurite({ location: path.join(os.tmpdir(), `sb-kill-${process.pid}-${Date.now()}`) });
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  await azurite?.stop();
});

it('resumes a 50-activity orchestration after the host is killed with SIGKILL', async () => {
  const first = await startHostProcess({ appDir: APP, connectionString: azurite.connectionString });
  hosts.push(first);
  const client = durableClientFor(first, HUB);
  const id = await client.startNew('sequence', {
    input: { count: STEPS, delayMs: 40 },
    instanceId: 'kill-me',
  });
  // A random kill point, printed so a failure can be replayed with KILL_AFTER_STEPS.
  const seeded = Number(process.env.KILL_AFTER_STEPS ?? Math.floor(Math.random() * 20) + 5);
  console.info(`kill test: SIGKILL after ${seeded} of ${STEPS} steps (KILL_AFTER_STEPS=${seeded})`);
  const mid = await waitForStatus(
    client,
    id,
    (s) => ((s.customStatus as { done?: number } | null)?.done ?? 0) >= seeded,
  );
  expect(await first.kill('SIGKILL')).toBeNull();
  const doneAtKill = (mid.customStatus as { done: number }).done;

  const second = await startHostProcess({
    appDir: APP,
    port: first.port,
    connectionString: azurite.connectionString,
  });
  hosts.push(second);
  await second.waitForLog(/resuming \d+ instance/);
  const status = await waitForFinish(durableClientFor(second, HUB), id, 60_000);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toBe((STEPS * (STEPS - 1)) / 2);
  // Resumed, not restarted: the new host ran at most the steps left plus the one in flight.
  const rerun = (second.logs().match(/Executed 'Functions\.slowStep' \(Succeeded/g) ?? []).length;
  expect(rerun).toBeLessThanOrEqual(STEPS - doneAtKill + 1);
  expect(rerun).toBeGreaterThan(0);
}, 120_000);
