// Issue 5, "Done when", first item, driving ONLY the HTTP API on the local host against Azurite:
// create a vault; 3 fabric VMs (one stopped, one with an old agent); discover; register all three and
// see the two documented failures; protect the healthy one; back up now; write 1% of its disks in
// scattered 64 KiB writes; back up again (bytes transferred within 2x the bytes written); restore both
// points as new VMs, every disk byte-identical (SHA-256) to its source at snapshot time.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { TableClient } from '@azure/data-tables';
import { tableNameForHub } from '../../host/src/durable/tableStore';
import { BlobServiceClient } from '@azure/storage-blob';
import { startVmTestEnv, vmDiskHashes, type JobView, type VmTestEnv } from './vmTestEnv';

async function blobSha256(e: VmTestEnv, container: string, name: string): Promise<string> {
  const blob = BlobServiceClient.fromConnectionString(e.azurite.connectionString)
    .getContainerClient(container)
    .getBlobClient(name);
  return createHash('sha256')
    .update(await blob.downloadToBuffer())
    .digest('hex');
}

const SUB = 'sub-vm';
const VAULT = 'vmvault';
const BASE = `/subscriptions/${SUB}/vaults/${VAULT}`;
const MiB = 1024 * 1024;
const DISK_BYTES = 16 * MiB;

let env: VmTestEnv;

beforeAll(async () => {
  env = await startVmTestEnv();
  await env.grant('owner', 'Owner', `/subscriptions/${SUB}`);
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

function jobIdOf(r: { body: Record<string, unknown> }): string {
  return String(r.body.name);
}

async function backupNow(item: string): Promise<JobView> {
  const r = await env.api('POST', `${BASE}/protectedItems/${item}/backup`);
  expect(r.status).toBe(202);
  expect(r.headers.get('azure-asyncoperation')).toContain(`/operationStatus/${jobIdOf(r)}`);
  return env.waitJob(SUB, VAULT, jobIdOf(r));
}

it('discovers, registers (with the two documented failures), protects, backs up, restores identical disks', async () => {
  expect((await env.api('PUT', BASE, { body: { location: 'local' } })).status).toBe(201);
  // VMs in the vault's region, plus one elsewhere that discovery must not list.
  await env.fabric.createVm({ name: 'web01', diskBytes: DISK_BYTES, dataDisks: 1, content: { seed: 1 } });
  await env.fabric.createVm({
    name: 'db01',
    diskBytes: DISK_BYTES,
    content: { seed: 2 },
    powerState: 'stopped',
  });
  await env.fabric.createVm({ name: 'old01', diskBytes: DISK_BYTES, content: { seed: 3 }, agent: 'old' });
  await env.fabric.createVm({
    name: 'far01',
    diskBytes: DISK_BYTES,
    content: { seed: 4 },
    region: 'elsewhere',
  });

  // Discover: one per vault at a time; a second concurrent request is refused.
  const [d1, d2] = await Promise.all([
    env.api('POST', `${BASE}/discoverVms`),
    env.api('POST', `${BASE}/discoverVms`),
  ]);
  const statuses = [d1.status, d2.status].sort();
  expect(statuses).toEqual([202, 409]);
  const refused = d1.status === 409 ? d1 : d2;
  expect(refused.body.error?.code).toBe('DiscoveryInProgress');
  const discoverJob = await env.waitJob(SUB, VAULT, jobIdOf(d1.status === 202 ? d1 : d2));
  expect(discoverJob.properties.status).toBe('Completed');
  const discovered = await env.api('GET', `${BASE}/discoveredVms`);
  expect((discovered.body.value as { name: string }[]).map((v) => v.name).sort()).toEqual([
    'db01',
    'old01',
    'web01',
  ]);

  // Register: a VM not discovered is refused before anything starts.
  const notDiscovered = await env.api('POST', `${BASE}/registerVms`, { body: { vms: ['web01', 'far01'] } });
  expect(notDiscovered.status).toBe(409);
  expect(notDiscovered.body.error).toMatchObject({ code: 'VmNotDiscovered', target: 'vms.1' });
  const reg = await env.api('POST', `${BASE}/registerVms`, { body: { vms: ['web01', 'db01', 'old01'] } });
  expect(reg.status).toBe(202);
  const regJobs = reg.body.value as { vmName: string; jobId: string }[];
  expect(regJobs).toHaveLength(3);
  const outcome: Record<string, JobView> = {};
  for (const j of regJobs) outcome[j.vmName] = await env.waitJob(SUB, VAULT, j.jobId);
  expect(outcome.web01?.properties.status).toBe('Completed');
  expect(outcome.db01?.properties).toMatchObject({ status: 'Failed', error: { code: 'VmNotRunning' } });
  expect(outcome.db01?.properties.error?.message).toMatch(/Start the VM/);
  expect(outcome.old01?.properties).toMatchObject({
    status: 'Failed',
    error: { code: 'GuestAgentOutdated' },
  });
  expect(outcome.old01?.properties.error?.message).toMatch(/Update the VM guest agent/);
  expect((await env.fabric.getVm('web01')).backupExtensionInstalled).toBe(true);
  const again = await env.api('POST', `${BASE}/registerVms`, { body: { vms: ['web01'] } });
  expect(again.body.error?.code).toBe('VmAlreadyRegistered');

  // Protect with the vault's DefaultPolicy: "Protected (initial backup pending)" until the first backup.
  const prot = await env.api('POST', `${BASE}/protectVms`, {
    body: { policyName: 'DefaultPolicy', items: ['web01'] },
  });
  expect(prot.status).toBe(202);
  const protJob = await env.waitJob(SUB, VAULT, (prot.body.value as { jobId: string }[])[0]!.jobId);
  expect(protJob.properties.status).toBe('Completed');
  const pending = await env.api('GET', `${BASE}/protectedItems/web01`);
  expect((pending.body.properties as { protectionStatus: string }).protectionStatus).toBe(
    'Protected (initial backup pending)',
  );

  // Back up now (full), remembering the disks as they are (the VM does not write in between).
  const before1 = await vmDiskHashes(env.fabric, 'web01');
  const full = await backupNow('web01');
  expect(full.properties).toMatchObject({ status: 'Completed', progressPercent: 100 });
  expect(full.properties.extendedInfo).toMatchObject({
    consistency: 'ApplicationConsistent',
    recoveryPointType: 'Full',
  });
  const item = await env.api('GET', `${BASE}/protectedItems/web01`);
  expect((item.body.properties as { protectionStatus: string }).protectionStatus).toBe('Protected');

  // 1% scattered 64 KiB writes on every disk, then an incremental.
  let written = 0;
  const vm = await env.fabric.getVm('web01');
  for (let d = 0; d < vm.disks.length; d++) {
    const r = await env.fabric.scatterWrite('web01', d, { percent: 1, blockBytes: 64 * 1024, seed: 100 + d });
    written += r.bytesWritten;
  }
  const before2 = await vmDiskHashes(env.fabric, 'web01');
  const incr = await backupNow('web01');
  expect(incr.properties.status).toBe('Completed');
  expect(incr.properties.extendedInfo).toMatchObject({
    recoveryPointType: 'Incremental',
    rangesFrom: 'changeTracking',
  });
  console.info(
    `incremental: ${written} bytes written, ${incr.properties.bytesTransferred} bytes transferred, ${String(incr.properties.extendedInfo?.bytesRead)} read, ${incr.properties.durationMs} ms; full: ${full.properties.bytesTransferred} bytes, ${full.properties.durationMs} ms`,
  );
  expect(incr.properties.bytesTransferred).toBeGreaterThan(0);
  expect(incr.properties.bytesTransferred).toBeLessThanOrEqual(2 * written);

  // Restore both points as new VMs; every disk equals its source at snapshot time.
  const points = await env.api('GET', `${BASE}/protectedItems/web01/recoveryPoints`);
  const ids = (points.body.value as { name: string }[]).map((p) => p.name);
  expect(ids).toHaveLength(2);
  const expected = [before1, before2];
  for (const [i, id] of ids.entries()) {
    const r = await env.api('POST', `${BASE}/protectedItems/web01/recoveryPoints/${id}/restore`, {
      body: { restoreType: 'NewVm', vmName: `web01-restored-${i}` },
    });
    expect(r.status).toBe(202);
    const job = await env.waitJob(SUB, VAULT, jobIdOf(r));
    expect(job.properties).toMatchObject({ operation: 'Restore', status: 'Completed', progressPercent: 100 });
    expect(await vmDiskHashes(env.fabric, `web01-restored-${i}`)).toEqual(expected[i]);
  }

  // The dashboard counts the jobs: discover, register, protect, 2 backups, 2 restores; 2 failed registers.
  const dash = await env.api('GET', `${BASE}/dashboard`);
  expect(dash.body.jobsLast24Hours).toEqual({ completed: 7, failed: 2, inProgress: 0 });

  // The other two restore targets: disks in a storage container, and the original VM's own disks.
  const asDisks = await env.api('POST', `${BASE}/protectedItems/web01/recoveryPoints/${ids[0]}/restore`, {
    body: { restoreType: 'RestoreDisks', containerName: 'restored-disks' },
  });
  const disksJob = await env.waitJob(SUB, VAULT, jobIdOf(asDisks));
  expect(disksJob.properties.status).toBe('Completed');
  const restoredBlobs = String(disksJob.properties.extendedInfo?.restoredDisks).split(',');
  expect(restoredBlobs).toHaveLength(2);
  const blobHashes: string[] = [];
  for (const ref of restoredBlobs) {
    const [container, name] = ref.split('/');
    blobHashes.push(await blobSha256(env, container!, name!));
  }
  expect(blobHashes).toEqual(before1);
  const replace = await env.api('POST', `${BASE}/protectedItems/web01/recoveryPoints/${ids[0]}/restore`, {
    body: { restoreType: 'ReplaceDisks' },
  });
  expect((await env.waitJob(SUB, VAULT, jobIdOf(replace))).properties.status).toBe('Completed');
  expect(await vmDiskHashes(env.fabric, 'web01')).toEqual(before1);
  expect((await env.fabric.getVm('web01')).powerState).toBe('running');
  // The next backup after the swap reads the new disks in full but stores only what differs.
  const afterSwap = await backupNow('web01');
  expect(afterSwap.properties.extendedInfo).toMatchObject({
    rangesFrom: 'fullRead',
    recoveryPointType: 'Incremental',
  });
  expect(afterSwap.properties.bytesTransferred).toBeLessThanOrEqual(2 * written);

  // Stop protection keeping the data: no more backups, the points stay and still restore.
  const stop = await env.api('POST', `${BASE}/protectedItems/web01/stopProtection`);
  expect(stop.status).toBe(202);
  expect((await env.waitJob(SUB, VAULT, jobIdOf(stop))).properties.status).toBe('Completed');
  const stopped = await env.api('GET', `${BASE}/protectedItems/web01`);
  expect((stopped.body.properties as { protectionStatus: string }).protectionStatus).toBe(
    'Protection stopped (backup data retained)',
  );
  const refusedBackup = await env.api('POST', `${BASE}/protectedItems/web01/backup`);
  expect(refusedBackup.status).toBe(409);
  expect(refusedBackup.body.error?.code).toBe('ItemNotProtected');
  // Then delete the data: under the vault's soft delete (on by default) the item is kept, soft deleted,
  // with its points, for 14 days (the purge and undelete are in vmSoftDelete.test.ts).
  const del = await env.api('DELETE', `${BASE}/protectedItems/web01`);
  expect(del.status).toBe(202);
  const delJob = await env.waitJob(SUB, VAULT, jobIdOf(del));
  expect(delJob.properties).toMatchObject({ operation: 'DeleteBackupData', status: 'Completed' });
  expect(delJob.properties.extendedInfo).toMatchObject({ softDeleted: true, retainedData: true });
  const softDeleted = await env.api('GET', `${BASE}/protectedItems/web01`);
  expect(softDeleted.status).toBe(200);
  expect((softDeleted.body.properties as { protectionState: string }).protectionState).toBe('SoftDeleted');

  // The key-encryption key never enters durable state (history, inputs, outputs, large messages).
  const kek = fs.readFileSync(env.hostEnv.STRONGBOX_LOCAL_KEY_FILE!);
  const secrets = [kek.toString('hex'), kek.toString('base64'), kek.toString('base64url')];
  const table = TableClient.fromConnectionString(
    env.azurite.connectionString,
    tableNameForHub('StrongboxHub'),
    {
      allowInsecureConnection: true,
    },
  );
  let rows = 0;
  for await (const row of table.listEntities()) {
    rows++;
    const text = JSON.stringify(row);
    for (const secret of secrets) expect(text.includes(secret)).toBe(false);
  }
  expect(rows).toBeGreaterThan(50);
  const blobs = BlobServiceClient.fromConnectionString(env.azurite.connectionString).getContainerClient(
    'strongboxhub-largemessages',
  );
  if (await blobs.exists()) {
    for await (const b of blobs.listBlobsFlat()) {
      const text = (await blobs.getBlobClient(b.name).downloadToBuffer()).toString('utf8');
      for (const secret of secrets) expect(text.includes(secret)).toBe(false);
    }
  }
}, 300_000);
