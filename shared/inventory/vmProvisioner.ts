// The VmProvisioner port: where a restore puts a recovery point. It creates empty disks, writes the
// restored bytes into them, and then either builds a new VM from them, swaps them in for the disks of
// an existing VM, or leaves them as disks in a storage container (Azure Backup's "restore disks").
// Adapters: `LocalFabric` (page blobs in Azurite). The ARM adapter (managed disks from a SAS upload)
// is not written yet; armInventory.ts has no restore side.
import type { OsType, Vm, VmDisk } from './inventory';

/** A disk created to restore into. Plain JSON: it crosses Durable Functions boundaries. */
export interface ProvisionedDisk {
  /** Stable locator: the page blob name (local fabric) or managed disk id (ARM). */
  diskId: string;
  /** Where the disk lives: a container (local fabric, "restore disks") or a resource group. */
  location: string;
  sizeBytes: number;
  role: 'os' | 'data';
  lun: number | undefined;
}

export interface ProvisionDiskSpec {
  /** Name of the disk (unique in its location); the same name and size is the same disk (idempotent). */
  name: string;
  sizeBytes: number;
  role: 'os' | 'data';
  lun: number | undefined;
  /** A storage container for "restore disks"; absent: where the VM disks of the platform live. */
  container?: string;
}

export interface NewVmSpec {
  name: string;
  osType: OsType;
  region: string;
  /** OS disk first, then data disks by LUN; disks made by createDisk in the VMs' own location. */
  disks: ProvisionedDisk[];
}

export interface VmProvisioner {
  /**
   * Creates an empty disk that reads as zeros (so a restore may skip zero blocks). Idempotent: an
   * existing disk of the same name and size is returned as it is (a re-run restore writes it again).
   * INVENTORY.INVALID_ARGUMENT for a bad name or size; INVENTORY.VM_ALREADY_EXISTS never.
   */
  createDisk(spec: ProvisionDiskSpec): Promise<ProvisionedDisk>;
  /**
   * Deletes a disk made by createDisk that no VM uses (a failed or cancelled restore's). Idempotent: a
   * disk that is already gone is not an error.
   */
  deleteDisk(disk: ProvisionedDisk): Promise<void>;
  /** Writes `data` at `offset` of a provisioned disk (any offset; the adapter aligns). */
  writeDisk(disk: ProvisionedDisk, offset: number, data: Buffer): Promise<void>;
  /** Creates a running VM from provisioned disks. INVENTORY.VM_ALREADY_EXISTS if the name is taken. */
  createVmFromDisks(spec: NewVmSpec): Promise<Vm>;
  /**
   * Swaps the VM's disks for the provisioned ones (matched by role and LUN), stopping the VM for the
   * swap and starting it again if it was running. The old disks are detached, not deleted (Azure keeps
   * them too), and returned. INVENTORY.VM_NOT_FOUND.
   */
  replaceDisks(vmId: string, disks: ProvisionedDisk[]): Promise<{ vm: Vm; detached: VmDisk[] }>;
}
