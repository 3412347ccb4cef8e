// Soft delete (reliability row 12, Azure Backup's default): "stop protection and delete backup data"
// keeps the item, soft deleted, with its recovery points for the vault's soft-delete period. Nothing
// runs on it (restore, backup, protect, a second delete: 409 ItemSoftDeleted) until a Backup
// Contributor undeletes it; then it restores byte-identical. Left alone, the hourly retention pass
// purges it once the period has passed (the host clock is moved 15 days). With soft delete Disabled on
// the vault, delete takes the data at once; an immutable vault refuses the delete.
import type * as df from 'durable-functions';
import { durableClientFor } from '../support/durableClient';
import {
  DAY_MS,
  eventually,
  startVmTestEnv,
  vmDiskHashes,
  type ApiAnswer,
  type VmTestEnv,
} from './vmTestEnv';

const SUB = 'sub-softdel';
const VAULT = 'sdvault';
const BASE = `/subscriptions/${SUB}/vaults/${VAULT}`;
const VM = 'sd01';
const ITEM = `${BASE}/protectedItems/${VM}`;
const MiB = 1024 * 1024;

let env: VmTestEnv;
let client: df.DurableClient;

beforeAll(async () => {
  env = await startVmTestEnv();
  client = durableClientFor(env.host, 'StrongboxHub');
  await env.grant('owner', 'Owner', `/subscriptions/${SUB}`);
  await env.grant('operator', 'Backup Operator', `/subscriptions/${SUB}`);
  expect((await env.api('PUT', BASE, { body: { location: 'local' } })).status).toBe(201);
  await env.fabric.createVm({ name: VM, diskBytes: 16 * MiB, content: { seed: 12 } });
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

const jobOf = (r: ApiAnswer) => String(r.body.name);

async function protectAndBackUp(): Promise<void> {
  await env.protect(SUB, VAULT, [VM]);
  const b = await env.waitJob(SUB, VAULT, jobOf(await env.api('POST', `${ITEM}/backup`)));
  expect(b.properties.status).toBe('Completed');
}

async function item(): Promise<ApiAnswer> {
  return env.api('GET', ITEM);
}

const props = (r: ApiAnswer) =>
  r.body.properties as { protectionState: string; protectionStatus: string; purgeAfter?: string };

async function pointNames(): Promise<string[]> {
  const r = await env.api('GET', `${ITEM}/recoveryPoints`);
  return (r.body.value as { name: string }[]).map((p) => p.name);
}

it('delete keeps the data, soft deleted; nothing runs on it; undelete brings it back and it restores identical', async () => {
  await protectAndBackUp();
  const source = await vmDiskHashes(env.fabric, VM);
  const points = await pointNames();
  expect(points).toHaveLength(1);

  const before = await env.hostNow();
  const del = await env.waitJob(SUB, VAULT, jobOf(await env.api('DELETE', ITEM)));
  expect(del.properties).toMatchObject({ operation: 'DeleteBackupData', status: 'Completed' });
  expect(del.properties.extendedInfo).toMatchObject({ softDeleted: true, retainedData: true });
  const sd = await item();
  expect(props(sd).protectionState).toBe('SoftDeleted');
  const purgeAfter = Date.parse(props(sd).purgeAfter ?? '');
  expect(purgeAfter - before).toBeGreaterThanOrEqual(14 * DAY_MS - 60_000);
  expect(purgeAfter - before).toBeLessThanOrEqual(14 * DAY_MS + 60_000);
  expect(props(sd).protectionStatus).toMatch(/^Soft deleted \(purged after /);
  expect(await pointNames()).toEqual(points);

  // Nothing runs on a soft-deleted item, and each refusal says how to get it back.
  for (const [method, path, body] of [
    ['POST', `${ITEM}/recoveryPoints/${points[0]}/restore`, { restoreType: 'NewVm', vmName: 'sd01-copy' }],
    ['POST', `${ITEM}/backup`, undefined],
    ['POST', `${BASE}/protectVms`, { policyName: 'DefaultPolicy', items: [VM] }],
    ['POST', `${ITEM}/stopProtection`, undefined],
    ['DELETE', ITEM, undefined],
  ] as const) {
    const r = await env.api(method, path, body === undefined ? {} : { body });
    expect([method, path, r.status, r.body.error?.code]).toEqual([method, path, 409, 'ItemSoftDeleted']);
    expect(r.body.error?.message).toMatch(/undelete it first/);
  }

  // Undelete needs Backup Contributor (Azure's rule); then the item is stopped, data retained.
  const denied = await env.api('POST', `${ITEM}/undelete`, { token: await env.token('operator') });
  expect(denied.status).toBe(403);
  const back = await env.api('POST', `${ITEM}/undelete`);
  expect(back.status).toBe(200);
  expect(props(back)).toMatchObject({ protectionState: 'ProtectionStopped' });
  expect((await env.api('POST', `${ITEM}/undelete`)).body.error?.code).toBe('InvalidStateTransition');

  const restore = await env.api('POST', `${ITEM}/recoveryPoints/${points[0]}/restore`, {
    body: { restoreType: 'NewVm', vmName: 'sd01-copy' },
  });
  expect((await env.waitJob(SUB, VAULT, jobOf(restore))).properties.status).toBe('Completed');
  expect(await vmDiskHashes(env.fabric, 'sd01-copy')).toEqual(source);
}, 240_000);

it('left soft deleted, it is purged by the retention pass once the period has passed', async () => {
  const del = await env.waitJob(SUB, VAULT, jobOf(await env.api('DELETE', ITEM)));
  expect(del.properties.status).toBe('Completed');
  expect(props(await item()).protectionState).toBe('SoftDeleted');

  // Past purgeAfter, and past the next hourly retention tick.
  await env.advanceClock(15 * DAY_MS);
  const movedTo = await env.hostNow();
  await eventually(
    'the retention pass to purge the item',
    async () => {
      const s = await client.getStatus('vm-retention').catch(() => undefined);
      if (!s || String(s.runtimeStatus) !== 'Completed' || s.createdTime.getTime() < movedTo - 1000)
        return undefined;
      return (await item()).status === 404 ? true : undefined;
    },
    120_000,
  );
  // The vault holds nothing of it any more: with its only item gone, the vault can be deleted.
  expect((await env.api('DELETE', BASE)).status).toBe(200);
}, 240_000);

it('with soft delete Disabled on the vault, delete takes the data at once', async () => {
  const vault2 = `/subscriptions/${SUB}/vaults/sdoff`;
  const put = await env.api('PUT', vault2, {
    body: { location: 'local', properties: { softDeleteSettings: { state: 'Disabled' } } },
  });
  expect(put.status).toBe(201);
  expect((put.body.properties as { softDeleteSettings: unknown }).softDeleteSettings).toEqual({
    state: 'Disabled',
    retentionDays: 14,
  });
  const bad = await env.api('PUT', vault2, {
    body: { location: 'local', properties: { softDeleteSettings: { retentionDays: 7 } } },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error?.message).toContain('properties.softDeleteSettings.retentionDays');

  await env.protect(SUB, 'sdoff', [VM]);
  const b = await env.api('POST', `${vault2}/protectedItems/${VM}/backup`);
  expect((await env.waitJob(SUB, 'sdoff', jobOf(b))).properties.status).toBe('Completed');

  // An immutable vault refuses to delete backup data, whatever its soft delete; off again, it may.
  const lock = (state: string) =>
    env.api('PUT', vault2, { body: { location: 'local', properties: { immutabilitySettings: { state } } } });
  const short = await env.api('PUT', `${vault2}/backupPolicies/Short`, {
    body: {
      properties: {
        schedule: { frequency: 'daily', timeZone: 'UTC', times: ['01:00'] },
        instantRestoreDays: 2,
        retention: { daily: { days: 7 } },
      },
    },
  });
  expect(short.status).toBe(201);
  expect((await lock('Enabled')).status).toBe(200);
  // Moving the item to a policy that keeps its points for less is a reduction too.
  const moved = await env.api('POST', `${vault2}/protectVms`, {
    body: { policyName: 'Short', items: [VM] },
  });
  expect(moved.status).toBe(409);
  expect(moved.body.error).toMatchObject({ code: 'BlockedByImmutableVault', target: 'policyName' });
  const blocked = await env.api('DELETE', `${vault2}/protectedItems/${VM}`);
  expect(blocked.status).toBe(409);
  expect(blocked.body.error).toMatchObject({ code: 'BlockedByImmutableVault', target: 'itemName' });
  expect((await env.api('GET', `${vault2}/protectedItems/${VM}`)).status).toBe(200);
  expect((await lock('Disabled')).status).toBe(200);

  const del = await env.api('DELETE', `${vault2}/protectedItems/${VM}`);
  const job = await env.waitJob(SUB, 'sdoff', jobOf(del));
  expect(job.properties.status).toBe('Completed');
  expect(job.properties.extendedInfo).toMatchObject({ pointsDeleted: 1, retainedData: false });
  expect((await env.api('GET', `${vault2}/protectedItems/${VM}`)).status).toBe(404);
}, 240_000);
