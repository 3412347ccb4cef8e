// Cancelling backup and restore jobs over HTTP (POST …/jobs/{jobId}/cancel). A cancelled backup ends
// Cancelled with no recovery point, its snapshot released and the item not marked failed, and the
// next backup runs normally; a cancelled restore deletes the disks it had made. Refusals: a job that
// has ended or cannot be cancelled (400 JobNotCancellable), an unknown job (404), a Reader (403).
//
// So that the cancel lands while the job runs, whatever the machine's speed, the host process is
// stopped (SIGSTOP) right after the job is accepted, the cancel request is sent while it is stopped,
// and the host is continued: it reads the request at once, long before a 256 MiB transfer can end.
import { BlobServiceClient } from '@azure/storage-blob';
import { startVmTestEnv, type ApiAnswer, type JobView, type VmTestEnv } from './vmTestEnv';

const SUB = 'sub-cancel';
const VAULT = 'cancelvault';
const BASE = `/subscriptions/${SUB}/vaults/${VAULT}`;
const VM = 'cancel01';
const MiB = 1024 * 1024;

let env: VmTestEnv;

beforeAll(async () => {
  env = await startVmTestEnv();
  await env.grant('owner', 'Owner', `/subscriptions/${SUB}`);
  await env.grant('reader', 'Backup Reader', `/subscriptions/${SUB}`);
  expect((await env.api('PUT', BASE, { body: { location: 'local' } })).status).toBe(201);
  await env.fabric.createVm({ name: VM, diskBytes: 256 * MiB, content: { seed: 5 } });
  await env.protect(SUB, VAULT, [VM]);
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

/** Sends the cancel while the host is stopped, so it is read before the job can get much further. */
async function cancelWhileRunning(
  start: () => Promise<ApiAnswer>,
): Promise<{ jobId: string; cancel: ApiAnswer }> {
  const started = await start();
  expect(started.status).toBe(202);
  const jobId = String(started.body.name);
  process.kill(env.host.pid, 'SIGSTOP');
  let cancel: Promise<ApiAnswer>;
  try {
    cancel = env.api('POST', `${BASE}/jobs/${jobId}/cancel`, { body: {} });
    await new Promise((r) => setTimeout(r, 100)); // the request is in the host's socket buffer
  } finally {
    process.kill(env.host.pid, 'SIGCONT');
  }
  return { jobId, cancel: await cancel };
}

/** Page-blob snapshots in the fabric's storage (the VM disks' backup snapshots). */
async function snapshotCount(): Promise<number> {
  const svc = BlobServiceClient.fromConnectionString(env.azurite.connectionString);
  let n = 0;
  for await (const c of svc.listContainers()) {
    for await (const b of svc.getContainerClient(c.name).listBlobsFlat({ includeSnapshots: true })) {
      if (b.snapshot) n++;
    }
  }
  return n;
}

async function blobsIn(container: string): Promise<string[]> {
  const client = BlobServiceClient.fromConnectionString(env.azurite.connectionString).getContainerClient(
    container,
  );
  if (!(await client.exists())) return [];
  const names: string[] = [];
  for await (const b of client.listBlobsFlat()) names.push(b.name);
  return names;
}

const points = async () =>
  ((await env.api('GET', `${BASE}/protectedItems/${VM}/recoveryPoints`)).body.value as unknown[]).length;

it('a running backup, cancelled: Cancelled, no recovery point, snapshot released, item unchanged; the next backup runs', async () => {
  const { jobId, cancel } = await cancelWhileRunning(() =>
    env.api('POST', `${BASE}/protectedItems/${VM}/backup`),
  );
  expect(cancel.status).toBe(202);
  expect(cancel.headers.get('azure-asyncoperation')).toContain(`/operationStatus/${jobId}`);
  const job = await env.waitJob(SUB, VAULT, jobId);
  expect(job.properties.status).toBe('Cancelled');
  expect(job.properties.error).toBeUndefined();
  expect((job.properties as { cancelRequested?: { by: string } }).cancelRequested?.by).toBe('owner');
  expect((await env.api('GET', `${BASE}/operationStatus/${jobId}`)).body.status).toBe('Canceled');
  expect(await points()).toBe(0);
  expect(await snapshotCount()).toBe(0);
  const item = await env.api('GET', `${BASE}/protectedItems/${VM}`);
  expect((item.body.properties as { protectionState: string }).protectionState).toBe(
    'ProtectedInitialBackupPending',
  );
  // A second cancel of an ended job is refused, and changes nothing.
  const again = await env.api('POST', `${BASE}/jobs/${jobId}/cancel`, { body: {} });
  expect(again.status).toBe(400);
  expect(again.body.error).toMatchObject({ code: 'JobNotCancellable', target: 'jobId' });

  const next = await env.api('POST', `${BASE}/protectedItems/${VM}/backup`);
  const done = await env.waitJob(SUB, VAULT, String(next.body.name));
  expect(done.properties.status).toBe('Completed');
  expect(await points()).toBe(1);
  expect(await snapshotCount()).toBe(1); // the new point's snapshot, kept as the next incremental's base
}, 240_000);

it('a running restore, cancelled: Cancelled, and the disks it made are deleted', async () => {
  const list = await env.api('GET', `${BASE}/protectedItems/${VM}/recoveryPoints`);
  const [point] = list.body.value as { name: string }[];
  const container = 'cancelled-restore';
  const { jobId, cancel } = await cancelWhileRunning(() =>
    env.api('POST', `${BASE}/protectedItems/${VM}/recoveryPoints/${point!.name}/restore`, {
      body: { restoreType: 'RestoreDisks', containerName: container },
    }),
  );
  expect(cancel.status).toBe(202);
  const job: JobView = await env.waitJob(SUB, VAULT, jobId);
  expect(job.properties.status).toBe('Cancelled');
  expect(await blobsIn(container)).toEqual([]);
}, 240_000);

it('refusals: not cancellable operations (400), unknown jobs (404), Readers (403); bad bodies (400)', async () => {
  const jobs = await env.api('GET', `${BASE}/jobs?operation=Discover`);
  const discover = (jobs.body.value as { name: string }[])[0]!.name;
  const notCancellable = await env.api('POST', `${BASE}/jobs/${discover}/cancel`, { body: {} });
  expect(notCancellable.status).toBe(400);
  expect(notCancellable.body.error?.code).toBe('JobNotCancellable');
  expect(notCancellable.body.error?.message).toMatch(/Discover job; only Backup and Restore/);

  const unknown = await env.api('POST', `${BASE}/jobs/0190d5c8-0000-7000-8000-000000000000/cancel`, {
    body: {},
  });
  expect(unknown.status).toBe(404);
  expect(unknown.body.error?.code).toBe('JobNotFound');

  const backups = await env.api('GET', `${BASE}/jobs?operation=Backup&status=Completed`);
  const completed = (backups.body.value as { name: string }[])[0]!.name;
  const reader = await env.api('POST', `${BASE}/jobs/${completed}/cancel`, {
    body: {},
    token: await env.token('reader'),
  });
  expect(reader.status).toBe(403);
  const badBody = await env.api('POST', `${BASE}/jobs/${completed}/cancel`, { body: { force: true } });
  expect(badBody.status).toBe(400);
  expect(badBody.body.error?.code).toBe('InvalidRequestBody');
}, 60_000);
