// The local fabric as a restore target (VmProvisioner port) on a real Azurite: empty disks that read
// as zeros, idempotent creation, unaligned writes, VMs built from restored disks, disk swaps, regions,
// and change tracking starting at the restored content.
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { seededBytes } from '../../shared/fabric/diskContent';
import { LocalFabric } from '../../shared/fabric/localFabric';
import { INVENTORY_ERROR_CODES } from '../../shared/inventory/inventoryErrors';

const MiB = 1024 * 1024;
let azurite: AzuriteInstance;
let fabric: LocalFabric;

beforeAll(async () => {
  azurite = await startAzurite();
  fabric = LocalFabric.fromConnectionString(azurite.connectionString);
});

afterAll(async () => {
  await azurite?.stop();
});

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ code });
}

it('creates empty disks idempotently, in its own container or another, and refuses a size clash', async () => {
  const spec = { name: 'r1-osdisk', sizeBytes: 2 * MiB, role: 'os' as const, lun: undefined };
  const a = await fabric.createDisk(spec);
  expect(await fabric.createDisk(spec)).toEqual(a);
  expect(a).toMatchObject({ diskId: 'r1-osdisk', location: 'fabric-disks', sizeBytes: 2 * MiB });
  const zeros = await fabric.pageBlob(a.diskId).downloadToBuffer(0, 2 * MiB);
  expect(zeros.equals(Buffer.alloc(2 * MiB))).toBe(true);
  await expectCode(
    fabric.createDisk({ ...spec, sizeBytes: 4 * MiB }),
    INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
  );
  const other = await fabric.createDisk({ ...spec, container: 'restore-target' });
  expect(other.location).toBe('restore-target');
  await expectCode(
    fabric.createDisk({ ...spec, container: 'Bad_Name' }),
    INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
  );
  await expectCode(fabric.createDisk({ ...spec, name: 'UPPER' }), INVENTORY_ERROR_CODES.INVALID_ARGUMENT);
});

it('deletes a disk it made (a failed or cancelled restore), idempotently, in any container', async () => {
  const here = await fabric.createDisk({ name: 'del-osdisk', sizeBytes: MiB, role: 'os', lun: undefined });
  const there = await fabric.createDisk({
    name: 'del-osdisk',
    sizeBytes: MiB,
    role: 'os',
    lun: undefined,
    container: 'restore-deleted',
  });
  await fabric.writeDisk(here, 0, Buffer.alloc(4096, 7));
  await fabric.deleteDisk(here);
  await fabric.deleteDisk(here); // already gone: not an error
  expect(await fabric.pageBlob(here.diskId).exists()).toBe(false);
  // The same name in another container is another disk, untouched.
  await fabric.deleteDisk({ ...there, diskId: 'no-such-disk' });
  const again = await fabric.createDisk({ name: 'del-osdisk', sizeBytes: MiB, role: 'os', lun: undefined });
  expect(again).toEqual(here); // re-created empty: the old bytes are gone
  const bytes = await fabric.pageBlob(again.diskId).downloadToBuffer(0, 4096);
  expect(bytes.equals(Buffer.alloc(4096))).toBe(true);
  await fabric.deleteDisk(there);
});

it('writes any byte range (unaligned ends read-modify-write) and refuses one outside the disk', async () => {
  const disk = await fabric.createDisk({ name: 'r2-osdisk', sizeBytes: MiB, role: 'os', lun: undefined });
  const model = Buffer.alloc(MiB);
  const writes = [
    { offset: 0, data: seededBytes(1, 'a', 4096) },
    { offset: 1000, data: seededBytes(1, 'b', 777) }, // unaligned both ends, overlapping the first
    { offset: MiB - 100, data: seededBytes(1, 'c', 100) }, // the disk's last bytes
  ];
  for (const w of writes) {
    await fabric.writeDisk(disk, w.offset, w.data);
    w.data.copy(model, w.offset);
  }
  expect((await fabric.pageBlob(disk.diskId).downloadToBuffer(0, MiB)).equals(model)).toBe(true);
  await expectCode(fabric.writeDisk(disk, MiB - 10, Buffer.alloc(20)), INVENTORY_ERROR_CODES.INVALID_RANGE);
});

it('builds a running VM from restored disks, tracks changes from there, and refuses a taken name', async () => {
  const os = await fabric.createDisk({ name: 'nvm-os', sizeBytes: MiB, role: 'os', lun: undefined });
  const data = await fabric.createDisk({ name: 'nvm-d0', sizeBytes: MiB, role: 'data', lun: 0 });
  await fabric.writeDisk(os, 0, seededBytes(2, 'os', 64 * 1024));
  const vm = await fabric.createVmFromDisks({
    name: 'newvm',
    osType: 'windows',
    region: 'westeurope',
    disks: [os, data],
  });
  expect(vm).toMatchObject({ name: 'newvm', osType: 'windows', region: 'westeurope', powerState: 'running' });
  expect(vm.disks.map((d) => [d.diskId, d.role, d.lun])).toEqual([
    ['nvm-os', 'os', undefined],
    ['nvm-d0', 'data', 0],
  ]);
  await expectCode(
    fabric.createVmFromDisks({ name: 'newvm', osType: 'linux', region: 'local', disks: [os] }),
    INVENTORY_ERROR_CODES.VM_ALREADY_EXISTS,
  );
  // Change tracking starts at the restored content: only later writes are reported.
  const first = await fabric.snapshotVm('newvm');
  await fabric.writeDisk('newvm', 0, [{ offset: 512 * 1024, data: seededBytes(3, 'w', 4096) }]);
  const second = await fabric.snapshotVm('newvm');
  expect(await fabric.changedRanges('nvm-os', first.disks[0]!, second.disks[0]!)).toEqual([
    { offset: 512 * 1024, length: 4096 },
  ]);
  // A VM's disks must be in the fabric's own container.
  const elsewhere = await fabric.createDisk({
    name: 'x-os',
    sizeBytes: MiB,
    role: 'os',
    lun: undefined,
    container: 'elsewhere',
  });
  await expectCode(
    fabric.createVmFromDisks({ name: 'badvm', osType: 'linux', region: 'local', disks: [elsewhere] }),
    INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
  );
});

it('swaps disks into an existing VM by role and LUN, keeping the detached ones, and restarting it', async () => {
  await fabric.createVm({ name: 'swap01', diskBytes: MiB, dataDisks: 1, content: { seed: 4 } });
  const before = await fabric.getVm('swap01');
  const newData = await fabric.createDisk({ name: 'swap01-d0-new', sizeBytes: MiB, role: 'data', lun: 0 });
  const { vm, detached } = await fabric.replaceDisks('swap01', [newData]);
  expect(vm.powerState).toBe('running');
  expect(vm.disks[0]!.diskId).toBe(before.disks[0]!.diskId);
  expect(vm.disks[1]!.diskId).toBe('swap01-d0-new');
  expect(detached.map((d) => d.diskId)).toEqual([before.disks[1]!.diskId]);
  // The detached disk still exists.
  expect(await fabric.pageBlob(before.disks[1]!.diskId).exists()).toBe(true);
  await expectCode(fabric.replaceDisks('no-such-vm', [newData]), INVENTORY_ERROR_CODES.VM_NOT_FOUND);
});

it('places VMs in a region (default local) and refuses a bad region name', async () => {
  expect(
    (await fabric.createVm({ name: 'far01', diskBytes: MiB, content: 'empty', region: 'northeurope' })).vm
      .region,
  ).toBe('northeurope');
  expect((await fabric.createVm({ name: 'near01', diskBytes: MiB, content: 'empty' })).vm.region).toBe(
    'local',
  );
  await expectCode(
    fabric.createVm({ name: 'bad01', diskBytes: MiB, content: 'empty', region: 'North Europe' }),
    INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
  );
});
