// Issue 5, "Done when": resume after a crash. The host is killed with SIGKILL in the middle of a
// backup's transfer (some segments done, others in flight), restarted on the same Azurite data, and
// the backup completes; a restore of its point is byte-identical to the disk at snapshot time. Only
// the segments not yet done run again (segments are idempotent per plan and index).
import { startVmTestEnv, vmDiskHashes, type JobView, type VmTestEnv } from './vmTestEnv';

const SUB = 'sub-crash';
const VAULT = 'crashvault';
const BASE = `/subscriptions/${SUB}/vaults/${VAULT}`;
const MiB = 1024 * 1024;
const VM = 'crash01';

let env: VmTestEnv;

beforeAll(async () => {
  // On disk: the killed host's storage must survive it. Info logs: the test counts segment runs.
  env = await startVmTestEnv({ onDisk: true, env: { STRONGBOX_HOST_LOG: 'info' } });
  await env.grant('owner', 'Owner', `/subscriptions/${SUB}`);
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

it('completes a backup after the host is killed mid-transfer, and restores it byte-identical', async () => {
  expect((await env.api('PUT', BASE, { body: { location: 'local' } })).status).toBe(201);
  // 64 MiB: 8 segments of 8 MiB, so the transfer has a middle to kill in.
  await env.fabric.createVm({ name: VM, diskBytes: 64 * MiB, content: { seed: 31 } });
  await env.protect(SUB, VAULT, [VM]);
  const expected = await vmDiskHashes(env.fabric, VM);

  const jobId = String((await env.api('POST', `${BASE}/protectedItems/${VM}/backup`)).body.name);
  // Kill once some segments are done (progress past the transfer's start) and before the commit.
  let mid: JobView | undefined;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const j = (await env.api('GET', `${BASE}/jobs/${jobId}`)).body as unknown as JobView;
    if (j.properties.progressPercent > 5 && j.properties.progressPercent < 95) {
      mid = j;
      break;
    }
    if (['Completed', 'Failed'].includes(j.properties.status))
      throw new Error(`the backup ended before the kill: ${JSON.stringify(j)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!mid) throw new Error('the backup never reached the middle of its transfer');
  expect(await env.host.kill('SIGKILL')).toBeNull();
  const segments = Number(mid.properties.extendedInfo?.segments);
  const doneAtKill = Number(mid.properties.extendedInfo?.segmentsDone ?? 0);
  console.info(
    `crash test: killed at ${mid.properties.progressPercent}% (${doneAtKill} of ${segments} segments done)`,
  );

  await env.restartHost();
  const job = await env.waitJob(SUB, VAULT, jobId, 180_000);
  expect(job.properties).toMatchObject({ status: 'Completed', progressPercent: 100 });
  const rerun = (env.host.logs().match(/Executed 'Functions\.vmBackupSegment' \(Succeeded/g) ?? []).length;
  console.info(`crash test: the restarted host ran ${rerun} segment activities`);
  expect(rerun).toBeGreaterThan(0);
  expect(rerun).toBeLessThanOrEqual(segments - doneAtKill);

  const points = await env.api('GET', `${BASE}/protectedItems/${VM}/recoveryPoints`);
  const [point] = points.body.value as { name: string }[];
  const r = await env.api('POST', `${BASE}/protectedItems/${VM}/recoveryPoints/${point!.name}/restore`, {
    body: { restoreType: 'NewVm', vmName: 'crash01-restored' },
  });
  expect((await env.waitJob(SUB, VAULT, String(r.body.name))).properties.status).toBe('Completed');
  expect(await vmDiskHashes(env.fabric, 'crash01-restored')).toEqual(expected);
}, 300_000);
