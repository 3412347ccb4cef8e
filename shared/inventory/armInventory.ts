// The Inventory, ChangeTracker and DiskSnapshotReader ports on Azure Resource Manager: VMs from
// arm-compute, incremental managed-disk snapshots, pages read through a time-limited SAS, and change
// tracking by Get Page Ranges diff between two incremental snapshots (prevsnapshot given as a URL,
// the managed-disk form). NOT TESTED END TO END: there is no Azure here. The pure parts (armMapping.ts)
// are unit-tested; the SDK calls are kept in the small methods below.
import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import { ManagedIdentityCredential } from '@azure/identity';
// The SAS in the URL is the credential.
import { AnonymousCredential, PageBlobClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { isRangeInside, type ByteRange } from './byteRanges';
import { changedFromPageRangeDiff, resourceGroupOf, toVm, validFromPageRanges } from './armMapping';
import type { ChangedRangesAnswer, ChangeTracker, DiskSnapshotReader } from './changeTracker';
import type { DiskSnapshot, GuestOutcome, Inventory, Vm, VmSnapshotSet } from './inventory';
import {
  GUEST_OUTCOME_CODES,
  INVENTORY_ERROR_CODES,
  InventoryError,
  type InventoryErrorCode,
} from './inventoryErrors';

/** How long a snapshot's read SAS lives (Grant Access `durationInSeconds`); a backup of a large disk takes hours. */
export const SNAPSHOT_ACCESS_SECONDS = 8 * 3600;

export interface ArmInventoryOptions {
  subscriptionId: string;
  /** User-assigned identity; omit for the system-assigned one. Production uses one known credential, never a chain. */
  managedIdentityClientId?: string;
  /** For tests of the wiring only. */
  credential?: TokenCredential;
}

function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as { statusCode?: number }).statusCode : undefined;
}

export function translateArmError(err: unknown, what: string, notFound?: InventoryErrorCode): InventoryError {
  if (err instanceof InventoryError) return err;
  const status = statusOf(err);
  let code: InventoryErrorCode = INVENTORY_ERROR_CODES.FAILED;
  if (status === 404 && notFound) code = notFound;
  else if (status === 408 || status === 429 || (status !== undefined && status >= 500))
    code = INVENTORY_ERROR_CODES.TRANSIENT;
  return new InventoryError(code, `${what}: ${status !== undefined ? `HTTP ${status}` : 'request failed'}`, {
    cause: err,
  });
}

/** `/subscriptions/…/resourceGroups/<rg>/providers/<ns>/<type>/<name>` → rg and name. */
function parseId(id: string): { resourceGroup: string; name: string } | undefined {
  const resourceGroup = resourceGroupOf(id);
  const name = id.split('/').filter(Boolean).pop();
  return resourceGroup && name ? { resourceGroup, name } : undefined;
}

export class ArmInventory implements Inventory, ChangeTracker, DiskSnapshotReader {
  private readonly client: ComputeManagementClient;
  /** SAS URLs are secrets: kept in memory only, never in a snapshot handle (handles go into Durable history). */
  private readonly sas = new Map<string, Promise<string>>();

  constructor(options: ArmInventoryOptions) {
    const credential =
      options.credential ??
      (options.managedIdentityClientId === undefined
        ? new ManagedIdentityCredential()
        : new ManagedIdentityCredential({ clientId: options.managedIdentityClientId }));
    this.client = new ComputeManagementClient(credential, options.subscriptionId);
  }

  async listVms(): Promise<Vm[]> {
    const out: Vm[] = [];
    try {
      for await (const vm of this.client.virtualMachines.listAll()) {
        const ids = parseId(vm.id ?? '');
        const view = ids
          ? await this.client.virtualMachines.instanceView(ids.resourceGroup, ids.name)
          : undefined;
        out.push(toVm(vm, view));
      }
    } catch (err) {
      throw translateArmError(err, 'list VMs');
    }
    return out;
  }

  async getVm(vmId: string): Promise<Vm> {
    const ids = parseId(vmId);
    if (!ids) throw new InventoryError(INVENTORY_ERROR_CODES.VM_NOT_FOUND, `not a VM id: ${vmId}`);
    try {
      return toVm(
        await this.client.virtualMachines.get(ids.resourceGroup, ids.name, { expand: 'instanceView' }),
      );
    } catch (err) {
      throw translateArmError(err, `VM ${ids.name}`, INVENTORY_ERROR_CODES.VM_NOT_FOUND);
    }
  }

  /**
   * One incremental snapshot per managed disk, in the VM's resource group. They are taken one after
   * another, so they are mutually consistent only while the VM is frozen or stopped; a crash-consistent
   * multi-disk point needs restore points (future work, docs/fabric.md).
   */
  async snapshotVm(vmId: string, wantedSetId?: string): Promise<VmSnapshotSet> {
    const vm = await this.getVm(vmId);
    const setId = wantedSetId ?? `${vm.name}-${randomBytes(6).toString('hex')}`;
    const takenAt = new Date().toISOString();
    const disks: DiskSnapshot[] = [];
    for (const disk of vm.disks) {
      const name = `strongbox-${setId}-${disk.role}${disk.lun ?? ''}`.slice(0, 80);
      try {
        // Snapshot names derive from the set id, so an earlier attempt's snapshot has this name: delete
        // it first (a PUT over it would keep its old content: creationData cannot change).
        if (wantedSetId !== undefined) await this.deleteSnapshotNamed(vm.resourceGroup, name);
        const snap = await this.client.snapshots.createOrUpdate(vm.resourceGroup, name, {
          location: vm.region,
          // Incremental: only changed pages are stored, and Get Page Ranges diff works between two of them.
          incremental: true,
          creationData: { createOption: 'Copy', sourceResourceId: disk.diskId },
        });
        disks.push({ diskId: disk.diskId, snapshotId: snap.id ?? '', sizeBytes: disk.sizeBytes, takenAt });
      } catch (err) {
        // Release what this call took (best effort), and with a set id what an earlier attempt of the
        // same set left on the other disks (the names are the set's), then report the failure.
        await this.releaseSnapshots({ setId, vmId: vm.id, takenAt, disks }).catch(() => undefined);
        if (wantedSetId !== undefined) {
          for (const d of vm.disks) {
            const leftover = `strongbox-${setId}-${d.role}${d.lun ?? ''}`.slice(0, 80);
            await this.deleteSnapshotNamed(vm.resourceGroup, leftover).catch(() => undefined);
          }
        }
        throw translateArmError(err, `snapshot ${disk.name}`, INVENTORY_ERROR_CODES.DISK_NOT_FOUND);
      }
    }
    return { setId, vmId: vm.id, takenAt, disks };
  }

  private async deleteSnapshotNamed(resourceGroup: string, name: string): Promise<void> {
    try {
      await this.client.snapshots.delete(resourceGroup, name);
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  async releaseSnapshots(set: VmSnapshotSet): Promise<void> {
    for (const s of set.disks) {
      const ids = parseId(s.snapshotId);
      if (!ids) continue;
      this.sas.delete(s.snapshotId);
      try {
        await this.client.snapshots.revokeAccess(ids.resourceGroup, ids.name);
        await this.client.snapshots.delete(ids.resourceGroup, ids.name);
      } catch (err) {
        if (statusOf(err) !== 404) throw translateArmError(err, `release ${ids.name}`);
      }
    }
  }

  /** Guest freeze on Azure goes through the VM snapshot extension of restore points: not implemented yet. */
  freeze(_vmId: string): Promise<GuestOutcome> {
    return Promise.resolve({
      ok: false,
      code: GUEST_OUTCOME_CODES.NOT_SUPPORTED,
      reason: 'application-consistent freeze is not implemented on Azure yet',
    });
  }

  thaw(_vmId: string): Promise<void> {
    return Promise.resolve();
  }

  installBackupExtension(_vmId: string): Promise<GuestOutcome> {
    return Promise.resolve({
      ok: false,
      code: GUEST_OUTCOME_CODES.NOT_SUPPORTED,
      reason: 'the backup extension is not installed by Strongbox on Azure yet',
    });
  }

  async changedRanges(diskId: string, from: DiskSnapshot, to: DiskSnapshot): Promise<ChangedRangesAnswer> {
    if (from.diskId !== diskId || to.diskId !== diskId) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        `snapshots are not both of disk ${diskId}`,
      );
    }
    const [fromUrl, toUrl] = [await this.readUrl(from), await this.readUrl(to)];
    try {
      const diff = new PageBlobClient(toUrl, new AnonymousCredential()).listPageRangesDiff(
        0,
        to.sizeBytes,
        fromUrl,
      );
      const ranges = [];
      for await (const r of diff) ranges.push(r);
      return changedFromPageRangeDiff(ranges);
    } catch (err) {
      const status = statusOf(err);
      // 400/409: not of one incremental family, the older one deleted, or the diff too old: read everything.
      if (status === 400 || status === 404 || status === 409) return 'unknown';
      throw translateArmError(err, `page range diff of ${diskId}`);
    }
  }

  async readRange(snapshot: DiskSnapshot, offset: number, length: number): Promise<Buffer> {
    if (!isRangeInside(offset, length, snapshot.sizeBytes)) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_RANGE,
        `range ${offset}+${length} is outside ${snapshot.diskId}`,
      );
    }
    if (length === 0) return Buffer.alloc(0);
    try {
      return await new PageBlobClient(
        await this.readUrl(snapshot),
        new AnonymousCredential(),
      ).downloadToBuffer(offset, length);
    } catch (err) {
      throw translateArmError(err, `read ${snapshot.snapshotId}`, INVENTORY_ERROR_CODES.SNAPSHOT_NOT_FOUND);
    }
  }

  async validRanges(snapshot: DiskSnapshot): Promise<readonly ByteRange[]> {
    try {
      const ranges = [];
      for await (const r of new PageBlobClient(
        await this.readUrl(snapshot),
        new AnonymousCredential(),
      ).listPageRanges())
        ranges.push(r);
      return validFromPageRanges(ranges);
    } catch (err) {
      throw translateArmError(
        err,
        `page ranges of ${snapshot.snapshotId}`,
        INVENTORY_ERROR_CODES.SNAPSHOT_NOT_FOUND,
      );
    }
  }

  /** Grant Access once per snapshot and process; the SAS stays in memory. */
  private readUrl(snapshot: DiskSnapshot): Promise<string> {
    let url = this.sas.get(snapshot.snapshotId);
    if (!url) {
      const ids = parseId(snapshot.snapshotId);
      if (!ids)
        throw new InventoryError(
          INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
          `not a snapshot id: ${snapshot.snapshotId}`,
        );
      url = (async () => {
        try {
          const access = await this.client.snapshots.grantAccess(ids.resourceGroup, ids.name, {
            access: 'Read',
            durationInSeconds: SNAPSHOT_ACCESS_SECONDS,
          });
          if (!access.accessSAS)
            throw new InventoryError(INVENTORY_ERROR_CODES.FAILED, `no SAS for ${ids.name}`);
          return access.accessSAS;
        } catch (err) {
          this.sas.delete(snapshot.snapshotId);
          throw translateArmError(
            err,
            `grant access to ${ids.name}`,
            INVENTORY_ERROR_CODES.SNAPSHOT_NOT_FOUND,
          );
        }
      })();
      this.sas.set(snapshot.snapshotId, url);
    }
    return url;
  }
}
