// Issue 5, "Done when": scheduled backups and retention, on one fast-forwarded timeline (the host's
// clock, POST /admin/host/clock), driving the workflows only through the timers and the HTTP API.
//   Scheduled backup: across three scheduled times exactly three backups run, and a timer that fires
//   again for the same time starts nothing.
//   Retention (daily 7): ten days of daily backups, each overwriting the same blocks, then a pass on
//   day 11 leaves 7 points (days 4-10; policy.md: a point of day d is kept through d + 7), frees the
//   blocks only the expired points held, and the oldest kept point still restores byte-identical.
import * as df from 'durable-functions';
import { seededBytes, planScatteredWrites } from '../../shared/fabric/diskContent';
import { vaultContainerName } from '../../shared/vaultStorage/vaultContainers';
import { BlobServiceClient } from '@azure/storage-blob';
import { loadConfig } from '../../shared/config/config';
import { azureTableStateStore } from '../../shared/state/azureTableStateStore';
import { vmStateStore, type RetentionRunDoc } from '../../shared/vm/vmStateStore';
import { durableClientFor } from '../support/durableClient';
import { DAY_MS, eventually, startVmTestEnv, vmDiskHashes, type JobView, type VmTestEnv } from './vmTestEnv';

const SUB = 'sub-sched';
const VAULT = 'schedvault';
const BASE = `/subscriptions/${SUB}/vaults/${VAULT}`;
const MiB = 1024 * 1024;
const DISK_BYTES = 16 * MiB;
const BLOCK = 64 * 1024;
const VM = 'sched01';

let env: VmTestEnv;
let client: df.DurableClient;
let slotMs = 0; // the first scheduled time (host clock)
const hashesAtDay = new Map<number, string[]>();
const offsets = planScatteredWrites(DISK_BYTES, 4, BLOCK, 77);

beforeAll(async () => {
  env = await startVmTestEnv();
  await env.grant('owner', 'Owner', `/subscriptions/${SUB}`);
  client = durableClientFor(env.host, 'StrongboxHub');
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

async function advanceTo(ms: number): Promise<void> {
  const now = await env.hostNow();
  if (ms > now) await env.advanceClock(ms - now);
}

async function backupJobs(): Promise<JobView[]> {
  const r = await env.api('GET', `${BASE}/jobs?operation=Backup`);
  return r.body.value as JobView[];
}

async function points(): Promise<
  { name: string; properties: { recoveryPointTime: string; scheduledTime?: string } }[]
> {
  const r = await env.api('GET', `${BASE}/protectedItems/${VM}/recoveryPoints`);
  return r.body.value as {
    name: string;
    properties: { recoveryPointTime: string; scheduledTime?: string };
  }[];
}

/** Waits for the scheduler tick that started at or after `sinceMs` (host time) to finish; returns its output. */
async function schedulerTickAfter(sinceMs: number): Promise<{ started: number; alreadyStarted: number }> {
  return eventually('a scheduler tick', async () => {
    const s = await client.getStatus('vm-scheduler').catch(() => undefined);
    if (!s || String(s.runtimeStatus) !== 'Completed' || s.createdTime.getTime() < sinceMs - 1000)
      return undefined;
    return s.output as { started: number; alreadyStarted: number };
  });
}

/** Waits until `n` backup jobs exist and all have ended; they must all have completed. */
async function waitForBackups(n: number): Promise<JobView[]> {
  return eventually(
    `${n} completed backups`,
    async () => {
      const jobs = await backupJobs();
      if (jobs.length < n || jobs.some((j) => !['Completed', 'Failed'].includes(j.properties.status)))
        return undefined;
      for (const j of jobs) expect(j.properties).toMatchObject({ status: 'Completed' });
      return jobs;
    },
    90_000,
  );
}

/** Day d's workload: the same blocks every day, new content, so yesterday's blocks become garbage. */
async function writeDay(day: number): Promise<void> {
  await env.fabric.writeDisk(
    VM,
    0,
    offsets.map((offset) => ({ offset, data: seededBytes(day, `day@${offset}`, BLOCK) })),
  );
}

async function retentionRun(): Promise<RetentionRunDoc> {
  const store = vmStateStore(
    azureTableStateStore(loadConfig({ AzureWebJobsStorage: env.azurite.connectionString }).storage),
  );
  const run = await store.getRetentionRun(SUB, VAULT);
  if (!run) throw new Error('no retention run was recorded');
  return run;
}

async function packBytes(): Promise<number> {
  const container = BlobServiceClient.fromConnectionString(env.azurite.connectionString).getContainerClient(
    vaultContainerName('vault-', SUB, VAULT, 'vm'),
  );
  let total = 0;
  for await (const b of container.listBlobsFlat({ prefix: 'packs/' }))
    total += b.properties.contentLength ?? 0;
  return total;
}

it('runs exactly one backup per scheduled time, even when the timer fires again for the same time', async () => {
  expect((await env.api('PUT', BASE, { body: { location: 'local' } })).status).toBe(201);
  const now = await env.hostNow();
  // The first half-hour slot at least 10 minutes ahead (UTC); the policy runs daily at that time.
  const HALF_HOUR = 30 * 60_000;
  slotMs = Math.ceil((now + 10 * 60_000) / HALF_HOUR) * HALF_HOUR;
  const hhmm = new Date(slotMs).toISOString().slice(11, 16);
  const policy = {
    properties: {
      schedule: { frequency: 'daily', timeZone: 'UTC', times: [hhmm] },
      instantRestoreDays: 1,
      retention: { daily: { days: 7 } },
    },
  };
  expect((await env.api('PUT', `${BASE}/backupPolicies/Daily7`, { body: policy })).status).toBe(201);
  await env.fabric.createVm({ name: VM, diskBytes: DISK_BYTES, content: { seed: 21 } });
  await env.protect(SUB, VAULT, [VM], 'Daily7');

  for (let day = 1; day <= 3; day++) {
    await writeDay(day);
    hashesAtDay.set(day, await vmDiskHashes(env.fabric, VM));
    const at = slotMs + (day - 1) * DAY_MS + 60_000;
    await advanceTo(at);
    expect((await schedulerTickAfter(at)).started).toBe(1);
    await waitForBackups(day);
    // The timer fires again (5 minutes later) while the same scheduled time is still in its look-back.
    await advanceTo(at + 5 * 60_000);
    const again = await schedulerTickAfter(at + 5 * 60_000);
    expect(again).toMatchObject({ started: 0, alreadyStarted: 1 });
  }
  const jobs = await waitForBackups(3);
  expect(jobs).toHaveLength(3);
  const scheduled = (await points()).map((p) => p.properties.scheduledTime);
  expect(scheduled).toEqual([0, 1, 2].map((d) => new Date(slotMs + d * DAY_MS).toISOString()));
}, 240_000);

it('keeps 7 daily points after 10 days, frees what only expired points held, restores the oldest', async () => {
  let packsBefore = 0;
  for (let day = 4; day <= 10; day++) {
    await writeDay(day);
    hashesAtDay.set(day, await vmDiskHashes(env.fabric, VM));
    await advanceTo(slotMs + (day - 1) * DAY_MS + 60_000);
    await waitForBackups(day);
    if (day === 10) packsBefore = await packBytes();
  }
  // Day 11, before its backup: the retention pass (hourly) deletes day 3's point, leaving days 4-10.
  const day11 = slotMs + 10 * DAY_MS - 2 * 3_600_000;
  await advanceTo(day11);
  const kept = await eventually('retention to leave 7 points', async () => {
    const s = await client.getStatus('vm-retention').catch(() => undefined);
    if (!s || String(s.runtimeStatus) !== 'Completed' || s.createdTime.getTime() < day11 - 1000)
      return undefined;
    const p = await points();
    return p.length === 7 ? p : undefined;
  });
  expect(kept.map((p) => p.properties.scheduledTime)).toEqual(
    [3, 4, 5, 6, 7, 8, 9].map((d) => new Date(slotMs + d * DAY_MS).toISOString()),
  );
  // Day 3's point expired; the blocks only it held (day 3's writes, overwritten on day 4) were in
  // day 3's own pack, which is gone. (Day 1's writes sit in the full backup's packs, which stay.)
  const packsNow = await packBytes();
  const daily = offsets.length * BLOCK;
  const run = await retentionRun();
  console.info(
    `retention: pack bytes before day 11's pass ${packsBefore}, after ${packsNow}; daily change ${daily}; ${JSON.stringify(run)}`,
  );
  expect(packsNow).toBeLessThanOrEqual(packsBefore - daily);
  expect(run).toMatchObject({ pointsDeleted: 1, vaultPointsDeleted: 1, packsDeleted: 1 });
  expect(run.bytesFreed).toBeGreaterThanOrEqual(daily);

  const oldest = kept[0]!;
  const r = await env.api('POST', `${BASE}/protectedItems/${VM}/recoveryPoints/${oldest.name}/restore`, {
    body: { restoreType: 'NewVm', vmName: 'sched01-oldest' },
  });
  expect(r.status).toBe(202);
  const job = await env.waitJob(SUB, VAULT, String(r.body.name));
  expect(job.properties.status).toBe('Completed');
  expect(await vmDiskHashes(env.fabric, 'sched01-oldest')).toEqual(hashesAtDay.get(4));
}, 300_000);
