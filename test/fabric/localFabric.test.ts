// The local fabric on a real Azurite: disks are page blobs, snapshots are blob snapshots, and change
// tracking is the fabric's journal. Each test keeps an in-memory model of every disk and compares
// bytes read back from snapshots against it.
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { mergeRanges, type ByteRange } from '../../shared/inventory/byteRanges';
import type { DiskSnapshot, VmSnapshotSet } from '../../shared/inventory/inventory';
import { INVENTORY_ERROR_CODES } from '../../shared/inventory/inventoryErrors';
import { renderExtent, seededBytes } from '../../shared/fabric/diskContent';
import { LocalFabric, localVmId, type CreatedVm } from '../../shared/fabric/localFabric';

const MiB = 1024 * 1024;
const DISK_BYTES = 4 * MiB;
const SEED = 7;

let azurite: AzuriteInstance;
let fabric: LocalFabric;

beforeAll(async () => {
  azurite = await startAzurite();
  fabric = LocalFabric.fromConnectionString(azurite.connectionString);
});

afterAll(async () => {
  await azurite?.stop();
});

/** The model of a new VM's disks, rebuilt from the content plan (zeros where nothing was written). */
function modelOf(created: CreatedVm): Buffer[] {
  return created.content.map((extents, i) => {
    const disk = Buffer.alloc(DISK_BYTES);
    for (const e of extents) renderExtent(e, SEED * 1000 + i).copy(disk, e.offset);
    return disk;
  });
}

async function readAll(snapshot: DiskSnapshot): Promise<Buffer> {
  return fabric.readRange(snapshot, 0, snapshot.sizeBytes);
}

function expectSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  let i = 0;
  while (i < actual.length && actual[i] === expected[i]) i += 1;
  throw new Error(`${what}: first difference at byte ${i} (seed ${SEED})`);
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ code });
}

describe('local fabric on Azurite', () => {
  let created: CreatedVm;
  let model: Buffer[];
  let first: VmSnapshotSet;

  beforeAll(async () => {
    created = await fabric.createVm({
      name: 'vm1',
      diskBytes: DISK_BYTES,
      dataDisks: 1,
      content: { seed: SEED },
    });
    model = modelOf(created);
    first = await fabric.snapshotVm('vm1');
  });

  test('a VM is listed with its disks, states and id', async () => {
    const vms = await fabric.listVms();
    expect(vms.map((v) => v.name)).toContain('vm1');
    const vm = await fabric.getVm(localVmId('vm1'));
    expect(vm).toMatchObject({
      name: 'vm1',
      powerState: 'running',
      osType: 'linux',
      agent: { status: 'ready' },
      backupExtensionInstalled: false,
    });
    expect(vm.disks.map((d) => [d.role, d.lun, d.sizeBytes])).toEqual([
      ['os', undefined, DISK_BYTES],
      ['data', 0, DISK_BYTES],
    ]);
  });

  test('a snapshot set covers every disk and reads back byte-exact', async () => {
    expect(first.disks).toHaveLength(2);
    for (const [i, snap] of first.disks.entries()) {
      expectSameBytes(await readAll(snap), model[i]!, `disk ${i} first snapshot`);
    }
  });

  test('readRange: exact boundaries', async () => {
    const snap = first.disks[0]!;
    expect((await fabric.readRange(snap, 0, 1)).equals(model[0]!.subarray(0, 1))).toBe(true);
    expect((await fabric.readRange(snap, DISK_BYTES - 1, 1)).equals(model[0]!.subarray(DISK_BYTES - 1))).toBe(
      true,
    );
    expect(await fabric.readRange(snap, DISK_BYTES, 0)).toHaveLength(0);
    await expectCode(fabric.readRange(snap, DISK_BYTES - 1, 2), INVENTORY_ERROR_CODES.INVALID_RANGE);
    await expectCode(fabric.readRange(snap, -1, 1), INVENTORY_ERROR_CODES.INVALID_RANGE);
  });

  test('validRanges are exactly the extents written at creation, so full backups skip the gaps', async () => {
    for (const [i, snap] of first.disks.entries()) {
      const expected = mergeRanges(created.content[i]!.map((e) => ({ offset: e.offset, length: e.length })));
      const valid = await fabric.validRanges(snap);
      expect(valid).toEqual(expected);
      const covered = valid.reduce((n, r) => n + r.length, 0);
      expect(covered).toBeLessThan(DISK_BYTES); // there are unwritten gaps
      expect(covered).toBeGreaterThan(0);
    }
  });

  test('1% scattered 64 KiB writes: changedRanges is exactly what was written; both snapshots stay exact', async () => {
    const before = model.map((m) => Buffer.from(m));
    const written: ByteRange[][] = [];
    for (const disk of [0, 1]) {
      const report = await fabric.scatterWrite('vm1', disk, {
        percent: 1,
        blockBytes: 64 * 1024,
        seed: 100 + disk,
      });
      for (const w of report.writes) Buffer.from(w.data).copy(model[disk]!, w.offset);
      written.push(mergeRanges(report.writes.map((w) => ({ offset: w.offset, length: w.data.length }))));
      expect(report.bytesWritten).toBe(report.writes.length * 64 * 1024);
    }
    const second = await fabric.snapshotVm('vm1');
    for (const disk of [0, 1]) {
      const a = first.disks[disk]!;
      const b = second.disks[disk]!;
      expect(await fabric.changedRanges(a.diskId, a, b)).toEqual(written[disk]);
      expect(await fabric.changedRanges(a.diskId, b, a)).toEqual(written[disk]); // either order
      expect(await fabric.changedRanges(a.diskId, b, b)).toEqual([]);
      expectSameBytes(await readAll(b), model[disk]!, `disk ${disk} second snapshot`);
      expectSameBytes(await readAll(a), before[disk]!, `disk ${disk} first snapshot after writes`);
    }
    await fabric.releaseSnapshots(second);
  });

  test('unaligned writes are widened by read-modify-write and journaled as whole pages', async () => {
    const a = await fabric.snapshotVm('vm1');
    const data = seededBytes(SEED, 'unaligned', 1000);
    const report = await fabric.writeDisk('vm1', 0, [{ offset: 700, data }]);
    data.copy(model[0]!, 700);
    expect(report.ranges).toEqual([{ offset: 512, length: 1536 }]);
    const b = await fabric.snapshotVm('vm1');
    expect(await fabric.changedRanges(a.disks[0]!.diskId, a.disks[0]!, b.disks[0]!)).toEqual([
      { offset: 512, length: 1536 },
    ]);
    expectSameBytes(await readAll(b.disks[0]!), model[0]!, 'after unaligned write');
    await fabric.releaseSnapshots(a);
    await fabric.releaseSnapshots(b);
  });

  test("a write around the fabric makes the interval 'unknown'; the next one is tracked again", async () => {
    const a = await fabric.snapshotVm('vm1');
    const disk = a.disks[1]!;
    await fabric.pageBlob(disk.diskId).uploadPages(Buffer.alloc(512, 9), 0, 512);
    const b = await fabric.snapshotVm('vm1');
    expect(await fabric.changedRanges(disk.diskId, a.disks[1]!, b.disks[1]!)).toBe('unknown');
    // The other disk saw no foreign write: still known (and empty).
    expect(await fabric.changedRanges(a.disks[0]!.diskId, a.disks[0]!, b.disks[0]!)).toEqual([]);
    await fabric.writeDisk('vm1', 1, [{ offset: 4096, data: Buffer.alloc(4096, 1) }]);
    const c = await fabric.snapshotVm('vm1');
    expect(await fabric.changedRanges(disk.diskId, b.disks[1]!, c.disks[1]!)).toEqual([
      { offset: 4096, length: 4096 },
    ]);
    expect(await fabric.changedRanges(disk.diskId, a.disks[1]!, c.disks[1]!)).toBe('unknown');
    for (const s of [a, b, c]) await fabric.releaseSnapshots(s);
  });

  test("a reset journal (tracking restarted) gives 'unknown' across the reset", async () => {
    const a = await fabric.snapshotVm('vm1');
    await fabric.resetChangeTracking('vm1');
    const b = await fabric.snapshotVm('vm1');
    expect(await fabric.changedRanges(a.disks[0]!.diskId, a.disks[0]!, b.disks[0]!)).toBe('unknown');
    expect(await fabric.changedRanges(first.disks[0]!.diskId, first.disks[0]!, b.disks[0]!)).toBe('unknown');
    await fabric.releaseSnapshots(a);
    await fabric.releaseSnapshots(b);
  });

  test('a repeated snapshotVm with the same setId replaces the earlier snapshots (a retried backup leaks none)', async () => {
    const countSnapshots = async (diskId: string): Promise<number> => {
      let n = 0;
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
        fabric.pageBlob(diskId).containerName,
      );
      for await (const b of container.listBlobsFlat({ prefix: diskId, includeSnapshots: true }))
        if (b.name === diskId && b.snapshot) n++;
      return n;
    };
    const base = await fabric.snapshotVm('vm1');
    const before = await Promise.all(base.disks.map((d) => countSnapshots(d.diskId)));
    const a = await fabric.snapshotVm('vm1', 'job-0190');
    await fabric.writeDisk('vm1', 0, [{ offset: 8192, data: Buffer.alloc(4096, 3) }]);
    const b = await fabric.snapshotVm('vm1', 'job-0190');
    expect(b.setId).toBe('job-0190');
    // One snapshot per disk for the set, not two; the first attempt's are gone.
    const after = await Promise.all(b.disks.map((d) => countSnapshots(d.diskId)));
    expect(after).toEqual(before.map((n) => n + 1));
    await expectCode(fabric.readRange(a.disks[0]!, 0, 512), INVENTORY_ERROR_CODES.SNAPSHOT_NOT_FOUND);
    // Change tracking from the base still sees the write made between the two attempts.
    expect(await fabric.changedRanges(base.disks[0]!.diskId, base.disks[0]!, b.disks[0]!)).toEqual([
      { offset: 8192, length: 4096 },
    ]);
    Buffer.alloc(4096, 3).copy(model[0]!, 8192);
    expectSameBytes(await readAll(b.disks[0]!), model[0]!, 'the replacing snapshot');
    await fabric.releaseSnapshots(base);
    await fabric.releaseSnapshots(b);
  });

  test('a failing snapshotVm with a set id also releases what an earlier attempt of the set left', async () => {
    // The earlier attempt snapshotted every disk, then its process died (the activity is retried).
    const crashed = await fabric.snapshotVm('vm1', 'job-lastretry');
    // This attempt cannot fence the second disk (another lease holds it), so it fails before taking any.
    const lease = fabric.pageBlob(crashed.disks[1]!.diskId).getBlobLeaseClient();
    await lease.acquireLease(-1);
    try {
      await expect(fabric.snapshotVm('vm1', 'job-lastretry')).rejects.toMatchObject({
        code: expect.stringMatching(/^INVENTORY\./) as unknown,
      });
    } finally {
      await lease.releaseLease();
    }
    for (const d of crashed.disks)
      await expectCode(fabric.readRange(d, 0, 512), INVENTORY_ERROR_CODES.SNAPSHOT_NOT_FOUND);
  }, 60_000);

  test('snapshots of another disk are refused; a released snapshot is gone', async () => {
    const s = await fabric.snapshotVm('vm1');
    await expectCode(
      fabric.changedRanges(s.disks[0]!.diskId, s.disks[0]!, s.disks[1]!),
      INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
    );
    await fabric.releaseSnapshots(s);
    await fabric.releaseSnapshots(s); // idempotent
    await expectCode(fabric.readRange(s.disks[0]!, 0, 512), INVENTORY_ERROR_CODES.SNAPSHOT_NOT_FOUND);
  });

  test('writes racing snapshots are never lost from the journal', async () => {
    const a = await fabric.snapshotVm('vm1');
    const writes = Array.from({ length: 12 }, (_, i) => ({
      offset: i * 128 * 1024,
      data: seededBytes(SEED, `race${i}`, 8192),
    }));
    const snaps: VmSnapshotSet[] = [];
    await Promise.all([
      (async () => {
        for (const w of writes) {
          await fabric.writeDisk('vm1', 0, [w]);
          w.data.copy(model[0]!, w.offset);
        }
      })(),
      (async () => {
        for (let i = 0; i < 3; i += 1) snaps.push(await fabric.snapshotVm('vm1'));
      })(),
    ]);
    const z = await fabric.snapshotVm('vm1');
    expectSameBytes(await readAll(z.disks[0]!), model[0]!, 'after racing writes');
    const changed = await fabric.changedRanges(a.disks[0]!.diskId, a.disks[0]!, z.disks[0]!);
    expect(changed).not.toBe('unknown');
    // Every write is covered (a superset is allowed; a write retried after a fence may be journaled twice).
    for (const w of writes) {
      const covered = (changed as ByteRange[]).some(
        (r) => r.offset <= w.offset && w.offset + w.data.length <= r.offset + r.length,
      );
      expect(covered).toBe(true);
    }
    for (const s of [a, z, ...snaps]) await fabric.releaseSnapshots(s);
  });
});

describe('power, guest agent and extension', () => {
  beforeAll(async () => {
    await fabric.createVm({ name: 'vm2', diskBytes: MiB, content: 'empty', agent: 'healthy' });
  });

  test('an empty disk has no valid ranges', async () => {
    const s = await fabric.snapshotVm('vm2');
    expect(await fabric.validRanges(s.disks[0]!)).toEqual([]);
    expect((await readAll(s.disks[0]!)).equals(Buffer.alloc(MiB))).toBe(true);
    await fabric.releaseSnapshots(s);
  });

  test('freeze needs the extension, then succeeds; thaw ends it; writes wait for thaw', async () => {
    expect(await fabric.freeze('vm2')).toMatchObject({ ok: false, code: 'INVENTORY.EXTENSION_MISSING' });
    expect(await fabric.installBackupExtension('vm2')).toEqual({ ok: true });
    expect((await fabric.getVm('vm2')).backupExtensionInstalled).toBe(true);
    expect(await fabric.freeze('vm2')).toEqual({ ok: true });
    await expectCode(
      fabric.writeDisk('vm2', 0, [{ offset: 0, data: Buffer.alloc(512) }]),
      INVENTORY_ERROR_CODES.VM_FROZEN,
    );
    await fabric.thaw('vm2');
    await fabric.thaw('vm2'); // no-op
    await fabric.writeDisk('vm2', 0, [{ offset: 0, data: Buffer.alloc(512, 1) }]);
  });

  test('freeze fails when the agent is set to fail, is missing, or is old', async () => {
    await fabric.setAgentState('vm2', 'freeze-fails');
    expect(await fabric.freeze('vm2')).toMatchObject({ ok: false, code: 'INVENTORY.FREEZE_FAILED' });
    await fabric.setAgentState('vm2', 'missing');
    expect((await fabric.getVm('vm2')).agent).toEqual({ status: 'missing', version: undefined });
    expect(await fabric.freeze('vm2')).toMatchObject({ ok: false, code: 'INVENTORY.AGENT_MISSING' });
    expect(await fabric.installBackupExtension('vm2')).toMatchObject({
      ok: false,
      code: 'INVENTORY.AGENT_MISSING',
    });
    await fabric.setAgentState('vm2', 'old');
    expect(await fabric.freeze('vm2')).toMatchObject({ ok: false, code: 'INVENTORY.AGENT_OUTDATED' });
    await fabric.setAgentState('vm2', 'healthy');
  });

  test('a stopped or deallocated VM cannot freeze or write, but can be snapshotted', async () => {
    await fabric.setPowerState('vm2', 'stopped');
    expect((await fabric.getVm('vm2')).powerState).toBe('stopped');
    expect(await fabric.freeze('vm2')).toMatchObject({ ok: false, code: 'INVENTORY.VM_NOT_RUNNING' });
    await expectCode(
      fabric.writeDisk('vm2', 0, [{ offset: 0, data: Buffer.alloc(512) }]),
      INVENTORY_ERROR_CODES.VM_NOT_RUNNING,
    );
    await fabric.setPowerState('vm2', 'deallocated');
    const s = await fabric.snapshotVm('vm2');
    expect(s.disks).toHaveLength(1);
    await fabric.releaseSnapshots(s);
    await fabric.setPowerState('vm2', 'running');
    expect(await fabric.freeze('vm2')).toEqual({ ok: true });
    await fabric.thaw('vm2');
  });

  test('unknown VMs, disks and bad input give typed errors', async () => {
    await expectCode(fabric.getVm('nope'), INVENTORY_ERROR_CODES.VM_NOT_FOUND);
    await expectCode(fabric.getVm('/subscriptions/x/whatever'), INVENTORY_ERROR_CODES.VM_NOT_FOUND);
    await expectCode(fabric.snapshotVm('nope'), INVENTORY_ERROR_CODES.VM_NOT_FOUND);
    await expectCode(fabric.freeze('nope'), INVENTORY_ERROR_CODES.VM_NOT_FOUND);
    await expectCode(
      fabric.writeDisk('vm2', 5, [{ offset: 0, data: Buffer.alloc(1) }]),
      INVENTORY_ERROR_CODES.DISK_NOT_FOUND,
    );
    await expectCode(
      fabric.writeDisk('vm2', 0, [{ offset: MiB - 1, data: Buffer.alloc(2) }]),
      INVENTORY_ERROR_CODES.INVALID_RANGE,
    );
    await expectCode(
      fabric.createVm({ name: 'vm2', diskBytes: MiB }),
      INVENTORY_ERROR_CODES.VM_ALREADY_EXISTS,
    );
    await expectCode(
      fabric.createVm({ name: 'Bad_Name', diskBytes: MiB }),
      INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
    );
    await expectCode(
      fabric.createVm({ name: 'odd', diskBytes: 1000 }),
      INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
    );
  });

  test('delete removes the VM and its disks', async () => {
    await fabric.createVm({ name: 'vm3', diskBytes: MiB, content: 'empty' });
    const s = await fabric.snapshotVm('vm3');
    await fabric.deleteVm('vm3');
    await expectCode(fabric.getVm('vm3'), INVENTORY_ERROR_CODES.VM_NOT_FOUND);
    await expectCode(fabric.readRange(s.disks[0]!, 0, 512), INVENTORY_ERROR_CODES.SNAPSHOT_NOT_FOUND);
    await expectCode(fabric.deleteVm('vm3'), INVENTORY_ERROR_CODES.VM_NOT_FOUND);
  });
});
