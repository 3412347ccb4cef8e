// ARM → Inventory mapping, with fixtures shaped by @azure/arm-compute's TypeScript types (recorded
// shapes written by hand: there is no Azure here).
import type { VirtualMachine, VirtualMachineInstanceView } from '@azure/arm-compute';
import type { PageRangeInfo } from '@azure/storage-blob';
import {
  changedFromPageRangeDiff,
  guestAgentOf,
  powerStateOf,
  toVm,
  validFromPageRanges,
} from '../../shared/inventory/armMapping';

const GiB = 1024 ** 3;
const SUB = '/subscriptions/11111111-2222-3333-4444-555555555555';
const VM_ID = `${SUB}/resourceGroups/Prod-RG/providers/Microsoft.Compute/virtualMachines/web01`;
const DISK = (n: string) => `${SUB}/resourceGroups/PROD-RG/providers/Microsoft.Compute/disks/${n}`;

const vmFixture: VirtualMachine = {
  id: VM_ID,
  name: 'web01',
  location: 'westeurope',
  storageProfile: {
    osDisk: {
      osType: 'Linux',
      name: 'web01_OsDisk_1',
      createOption: 'FromImage',
      diskSizeGB: 30,
      managedDisk: { id: DISK('web01_OsDisk_1') },
    },
    dataDisks: [
      {
        lun: 1,
        name: 'web01-data1',
        createOption: 'Empty',
        diskSizeGB: 128,
        managedDisk: { id: DISK('web01-data1') },
      },
      {
        lun: 0,
        name: 'web01-data0',
        createOption: 'Empty',
        diskSizeGB: 64,
        managedDisk: { id: DISK('web01-data0') },
      },
      {
        lun: 2,
        name: 'legacy-vhd',
        createOption: 'Attach',
        diskSizeGB: 10,
        vhd: { uri: 'https://x.blob.core.windows.net/vhds/a.vhd' },
      },
    ],
  },
  resources: [
    {
      location: 'westeurope',
      publisher: 'Microsoft.Azure.RecoveryServices',
      typePropertiesType: 'VMSnapshotLinux',
      provisioningState: 'Succeeded',
    },
  ],
};

const viewFixture: VirtualMachineInstanceView = {
  vmAgent: {
    vmAgentVersion: '2.9.1.1',
    statuses: [
      {
        code: 'ProvisioningState/succeeded',
        level: 'Info',
        displayStatus: 'Ready',
        message: 'Guest Agent is running',
      },
    ],
  },
  statuses: [
    { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
    { code: 'PowerState/running', level: 'Info', displayStatus: 'VM running' },
  ],
};

test('a VM with instance view maps to our model: managed disks only, by LUN', () => {
  expect(toVm(vmFixture, viewFixture)).toEqual({
    id: VM_ID,
    name: 'web01',
    resourceGroup: 'Prod-RG',
    region: 'westeurope',
    powerState: 'running',
    osType: 'linux',
    agent: { status: 'ready', version: '2.9.1.1' },
    backupExtensionInstalled: true,
    disks: [
      {
        diskId: DISK('web01_OsDisk_1'),
        name: 'web01_OsDisk_1',
        role: 'os',
        lun: undefined,
        sizeBytes: 30 * GiB,
      },
      { diskId: DISK('web01-data0'), name: 'web01-data0', role: 'data', lun: 0, sizeBytes: 64 * GiB },
      { diskId: DISK('web01-data1'), name: 'web01-data1', role: 'data', lun: 1, sizeBytes: 128 * GiB },
    ],
  });
});

test('windows VM without extension and without instance view', () => {
  const vm = toVm(
    {
      ...vmFixture,
      resources: [],
      storageProfile: { osDisk: { osType: 'Windows', createOption: 'FromImage' } },
    },
    undefined,
  );
  expect(vm).toMatchObject({
    osType: 'windows',
    powerState: 'unknown',
    agent: { status: 'missing' },
    backupExtensionInstalled: false,
    disks: [],
  });
});

test.each([
  ['PowerState/running', 'running'],
  ['PowerState/stopped', 'stopped'],
  ['PowerState/deallocated', 'deallocated'],
  ['PowerState/deallocating', 'deallocating'],
  ['PowerState/starting', 'starting'],
  ['PowerState/somethingNew', 'unknown'],
])('power state %s → %s', (code, expected) => {
  expect(powerStateOf([{ code: 'ProvisioningState/succeeded' }, { code }])).toBe(expected);
});

test('guest agent: missing, not ready, unknown version', () => {
  expect(guestAgentOf({})).toEqual({ status: 'missing', version: undefined });
  expect(guestAgentOf({ vmAgent: { vmAgentVersion: 'Unknown' } })).toEqual({
    status: 'missing',
    version: undefined,
  });
  expect(
    guestAgentOf({ vmAgent: { vmAgentVersion: '2.2.10', statuses: [{ displayStatus: 'Not Ready' }] } }),
  ).toEqual({
    status: 'notReady',
    version: '2.2.10',
  });
});

test('page range diff: written and cleared ranges both changed, inclusive ends, merged', () => {
  const diff: PageRangeInfo[] = [
    { start: 1024, end: 2047, isClear: false },
    { start: 0, end: 511, isClear: false },
    { start: 2048, end: 4095, isClear: true },
    { start: 8192, end: 8703, isClear: false },
  ];
  expect(changedFromPageRangeDiff(diff)).toEqual([
    { offset: 0, length: 512 },
    { offset: 1024, length: 3072 },
    { offset: 8192, length: 512 },
  ]);
  expect(validFromPageRanges(diff)).toEqual([
    { offset: 0, length: 512 },
    { offset: 1024, length: 1024 },
    { offset: 8192, length: 512 },
  ]);
  expect(changedFromPageRangeDiff([])).toEqual([]);
});
