// Issue 5, "Done when": per-item serialisation. A second "back up now" while a backup of the same item
// runs is accepted, its job shows Queued (not a failure), and it runs once the first has finished.
import { startVmTestEnv, type JobView, type VmTestEnv } from './vmTestEnv';

const SUB = 'sub-serial';
const VAULT = 'serialvault';
const BASE = `/subscriptions/${SUB}/vaults/${VAULT}`;
const MiB = 1024 * 1024;

let env: VmTestEnv;

beforeAll(async () => {
  env = await startVmTestEnv();
  await env.grant('owner', 'Owner', `/subscriptions/${SUB}`);
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

async function job(jobId: string): Promise<JobView> {
  return (await env.api('GET', `${BASE}/jobs/${jobId}`)).body as unknown as JobView;
}

it('queues a second back-up-now behind a running backup of the same item, then runs it', async () => {
  expect((await env.api('PUT', BASE, { body: { location: 'local' } })).status).toBe(201);
  await env.fabric.createVm({ name: 'busy01', diskBytes: 64 * MiB, content: { seed: 11 } });
  await env.protect(SUB, VAULT, ['busy01']);

  const first = String((await env.api('POST', `${BASE}/protectedItems/busy01/backup`)).body.name);
  // Wait until the first holds the item (InProgress), then ask again.
  for (let i = 0; (await job(first)).properties.status !== 'InProgress'; i++) {
    if (i > 200) throw new Error('the first backup never started');
    await new Promise((r) => setTimeout(r, 50));
  }
  // The host is stopped while the second request is sent and continued at once, so the request is
  // read before the first backup can get much further: it is still running, whatever the machine's speed.
  process.kill(env.host.pid, 'SIGSTOP');
  let pending: ReturnType<typeof env.api>;
  try {
    pending = env.api('POST', `${BASE}/protectedItems/busy01/backup`);
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    process.kill(env.host.pid, 'SIGCONT');
  }
  const second = await pending;
  expect(second.status).toBe(202);
  const secondId = String(second.body.name);
  const queued = await job(secondId);
  expect(queued.properties.status).toBe('Queued');
  // ARM clients see a queued job as InProgress.
  const opStatus = await env.api('GET', `${BASE}/operationStatus/${secondId}`);
  expect(opStatus.body.status).toBe('InProgress');

  const a = await env.waitJob(SUB, VAULT, first);
  const b = await env.waitJob(SUB, VAULT, secondId);
  expect(a.properties.status).toBe('Completed');
  expect(b.properties.status).toBe('Completed');
  // The second waited for the first: it says so, and it started running only after the first ended.
  expect(b.properties.extendedInfo?.queuedBehindJobId).toBe(first);
  expect(Date.parse(String(b.properties.extendedInfo?.runningSince))).toBeGreaterThanOrEqual(
    Date.parse(String(a.properties.endTime)) - 1000,
  );
  expect(b.properties.extendedInfo?.recoveryPointType).toBe('Incremental');
  const points = await env.api('GET', `${BASE}/protectedItems/busy01/recoveryPoints`);
  expect(points.body.value).toHaveLength(2);
}, 180_000);
