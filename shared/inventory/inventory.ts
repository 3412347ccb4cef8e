// The Inventory port: which VMs exist, their state, point-in-time snapshots of their disks, and the
// guest agent that makes a snapshot application-consistent. Adapters: `LocalFabric`
// (shared/fabric/localFabric.ts, page blobs in Azurite) and `ArmInventory` (armInventory.ts, Azure
// Resource Manager). Everything here is plain JSON so it can cross a Durable Functions boundary.
import type { GuestOutcomeCode } from './inventoryErrors';

export type PowerState =
  'running' | 'starting' | 'stopping' | 'stopped' | 'deallocating' | 'deallocated' | 'unknown';

export type OsType = 'linux' | 'windows';

/**
 * The guest agent as the platform reports it. 'missing': never reported (no agent installed);
 * 'notReady': installed but not answering; 'ready': answering, with its version.
 */
export interface GuestAgentInfo {
  status: 'missing' | 'notReady' | 'ready';
  version: string | undefined;
}

export interface VmDisk {
  /** Stable locator of the disk: a managed disk resource id (ARM) or a page blob name (local fabric). */
  diskId: string;
  name: string;
  role: 'os' | 'data';
  /** Data disks only: the logical unit number the disk is attached at. */
  lun: number | undefined;
  sizeBytes: number;
}

export interface Vm {
  /** ARM-style resource id, `/subscriptions/…/resourceGroups/…/providers/Microsoft.Compute/virtualMachines/<name>`. */
  id: string;
  name: string;
  /** Resource group (ARM); the local fabric uses one fixed group. */
  resourceGroup: string;
  region: string;
  powerState: PowerState;
  osType: OsType;
  agent: GuestAgentInfo;
  /** True once the backup extension is attached (installBackupExtension). */
  backupExtensionInstalled: boolean;
  /** OS disk first, then data disks by LUN. */
  disks: VmDisk[];
}

/** A readable point-in-time copy of one disk. `snapshotId` is opaque: only the adapter that made it reads it. */
export interface DiskSnapshot {
  diskId: string;
  snapshotId: string;
  sizeBytes: number;
  /** ISO-8601 UTC. */
  takenAt: string;
}

/** Snapshots of all disks of one VM, taken together (see each adapter for how consistent "together" is). */
export interface VmSnapshotSet {
  setId: string;
  vmId: string;
  takenAt: string;
  disks: DiskSnapshot[];
}

/** Expected outcomes are returned, not thrown (STYLE.md §4). */
export type GuestOutcome = { ok: true } | { ok: false; code: GuestOutcomeCode; reason: string };

export interface Inventory {
  /** All VMs of the subscription (ARM) or of the fabric (local). */
  listVms(): Promise<Vm[]>;
  /** INVENTORY.VM_NOT_FOUND if there is no such VM. */
  getVm(vmId: string): Promise<Vm>;
  /**
   * Snapshots every disk of the VM in one call. INVENTORY.VM_NOT_FOUND; INVENTORY.TRANSIENT.
   * With a `setId` (a backup passes its job's), the call is safe to repeat: snapshots that an earlier
   * call with the same setId left behind (it crashed, or failed after some disks) are replaced, not
   * leaked. A call that fails releases what it took. Without one, the set gets a random id.
   */
  snapshotVm(vmId: string, setId?: string): Promise<VmSnapshotSet>;
  /** Deletes the set's snapshots. Idempotent: already-deleted snapshots are not an error. */
  releaseSnapshots(set: VmSnapshotSet): Promise<void>;
  /** Asks the guest to flush and freeze its file systems (VSS on Windows, fsfreeze on Linux). */
  freeze(vmId: string): Promise<GuestOutcome>;
  /** Ends a freeze. A no-op on a VM that is not frozen. */
  thaw(vmId: string): Promise<void>;
  /** Attaches the backup extension that freeze needs. Idempotent. */
  installBackupExtension(vmId: string): Promise<GuestOutcome>;
}
