// Pure mappings from Azure Resource Manager (arm-compute) and Get Page Ranges shapes to the Inventory
// model. Only types are imported from the SDKs, so this is unit-tested with fixtures shaped by them
// (test/fabric/armMapping.test.ts).
import type { InstanceViewStatus, VirtualMachine, VirtualMachineInstanceView } from '@azure/arm-compute';
import type { PageRangeInfo } from '@azure/storage-blob';
import { mergeRanges, type ByteRange } from './byteRanges';
import type { GuestAgentInfo, OsType, PowerState, Vm, VmDisk } from './inventory';

const GiB = 1024 ** 3;

/** Azure Backup's snapshot extensions (publisher Microsoft.Azure.RecoveryServices). */
export const BACKUP_EXTENSION_PUBLISHER = 'Microsoft.Azure.RecoveryServices';
export const BACKUP_EXTENSION_TYPES: Readonly<Record<OsType, string>> = {
  linux: 'VMSnapshotLinux',
  windows: 'VMSnapshot',
};

/** `/subscriptions/s/resourceGroups/<rg>/…` → rg (ARM ids are case-insensitive; the segment's case is kept). */
export function resourceGroupOf(id: string): string {
  const m = /\/resourceGroups\/([^/]+)/i.exec(id);
  return m?.[1] ?? '';
}

/** InstanceView statuses carry `PowerState/<state>`; transitional states are kept, anything else is 'unknown'. */
export function powerStateOf(statuses: readonly InstanceViewStatus[] | undefined): PowerState {
  const code = statuses
    ?.find((s) => s.code?.toLowerCase().startsWith('powerstate/'))
    ?.code?.slice('PowerState/'.length)
    .toLowerCase();
  switch (code) {
    case 'running':
    case 'starting':
    case 'stopping':
    case 'stopped':
    case 'deallocating':
    case 'deallocated':
      return code;
    default:
      return 'unknown';
  }
}

/** No vmAgent (or no version) = missing; "Ready" display status = ready; anything else = notReady. */
export function guestAgentOf(view: VirtualMachineInstanceView | undefined): GuestAgentInfo {
  const agent = view?.vmAgent;
  const version =
    agent?.vmAgentVersion && agent.vmAgentVersion !== 'Unknown' ? agent.vmAgentVersion : undefined;
  if (!agent || version === undefined) return { status: 'missing', version: undefined };
  const ready = agent.statuses?.some((s) => s.displayStatus?.toLowerCase() === 'ready') ?? false;
  return { status: ready ? 'ready' : 'notReady', version };
}

/** Managed disks only: an unmanaged (VHD) disk has no managed disk id and cannot be snapshotted incrementally. */
export function disksOf(vm: VirtualMachine): VmDisk[] {
  const profile = vm.storageProfile;
  const out: VmDisk[] = [];
  const os = profile?.osDisk;
  if (os?.managedDisk?.id) {
    out.push({
      diskId: os.managedDisk.id,
      name: os.name ?? '',
      role: 'os',
      lun: undefined,
      sizeBytes: (os.diskSizeGB ?? 0) * GiB,
    });
  }
  for (const d of [...(profile?.dataDisks ?? [])].sort((a, b) => a.lun - b.lun)) {
    if (!d.managedDisk?.id) continue;
    out.push({
      diskId: d.managedDisk.id,
      name: d.name ?? '',
      role: 'data',
      lun: d.lun,
      sizeBytes: (d.diskSizeGB ?? 0) * GiB,
    });
  }
  return out;
}

/** A VM (with its instance view, from get(expand: 'instanceView')) in our model. */
export function toVm(vm: VirtualMachine, view: VirtualMachineInstanceView | undefined = vm.instanceView): Vm {
  const osType: OsType = vm.storageProfile?.osDisk?.osType?.toLowerCase() === 'windows' ? 'windows' : 'linux';
  const extensionType = BACKUP_EXTENSION_TYPES[osType].toLowerCase();
  const backupExtensionInstalled = (vm.resources ?? []).some(
    (r) =>
      r.publisher?.toLowerCase() === BACKUP_EXTENSION_PUBLISHER.toLowerCase() &&
      r.typePropertiesType?.toLowerCase() === extensionType &&
      r.provisioningState?.toLowerCase() === 'succeeded',
  );
  const id = vm.id ?? '';
  return {
    id,
    name: vm.name ?? '',
    resourceGroup: resourceGroupOf(id),
    region: vm.location,
    powerState: powerStateOf(view?.statuses),
    osType,
    agent: guestAgentOf(view),
    backupExtensionInstalled,
    disks: disksOf(vm),
  };
}

/**
 * Get Page Ranges diff → changed ranges. Both written (`isClear: false`) and cleared ranges changed:
 * a cleared range now reads as zeros. Ends are inclusive in the REST answer.
 */
export function changedFromPageRangeDiff(ranges: Iterable<PageRangeInfo>): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of ranges) out.push({ offset: r.start, length: r.end - r.start + 1 });
  return mergeRanges(out);
}

/** Get Page Ranges (no diff) → valid ranges. */
export function validFromPageRanges(ranges: Iterable<PageRangeInfo>): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of ranges) if (!r.isClear) out.push({ offset: r.start, length: r.end - r.start + 1 });
  return mergeRanges(out);
}
