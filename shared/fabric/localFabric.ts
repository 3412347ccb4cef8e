// The local VM fabric: an adapter of the Inventory, ChangeTracker and DiskSnapshotReader ports that
// behaves like Azure's VMs, for laptops and tests. VMs are rows of an Azure Table; each disk is a real
// page blob (512-byte pages) in container `fabric-disks`, so the code that reads disks for a backup is
// the same on Azurite as on Azure. Snapshots are page blob snapshots; change tracking is the fabric's
// own journal (tableChangeJournal.ts), because Azurite's Get Page Ranges diff is wrong.
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type ContainerClient, type PageBlobClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { parseStorageConnectionString } from '../config/storageConnectionString';
import { clipRanges, isRangeInside, mergeRanges, type ByteRange } from '../inventory/byteRanges';
import type { ChangedRangesAnswer, ChangeTracker, DiskSnapshotReader } from '../inventory/changeTracker';
import { isAgentVersionSupported } from '../inventory/guestAgent';
import type {
  DiskSnapshot,
  GuestAgentInfo,
  GuestOutcome,
  Inventory,
  OsType,
  Vm,
  VmDisk,
  VmSnapshotSet,
} from '../inventory/inventory';
import { GUEST_OUTCOME_CODES, INVENTORY_ERROR_CODES, InventoryError } from '../inventory/inventoryErrors';
import type {
  NewVmSpec,
  ProvisionDiskSpec,
  ProvisionedDisk,
  VmProvisioner,
} from '../inventory/vmProvisioner';
import {
  planDiskContent,
  planScatteredWrites,
  renderExtent,
  seededBytes,
  type DiskExtent,
} from './diskContent';
import {
  FABRIC_AGENT_VERSION_HEALTHY,
  FABRIC_AGENT_VERSION_OLD,
  FABRIC_DISK_CONTAINER,
  FABRIC_JOURNAL_TABLE,
  FABRIC_REGION,
  FABRIC_RESOURCE_GROUP,
  FABRIC_SUBSCRIPTION_ID,
  FABRIC_VM_TABLE,
  LEASE_MAX_ATTEMPTS,
  LEASE_RETRY_DELAY_MS,
  PAGE_BLOB_MAX_BYTES,
  PAGE_BYTES,
  SNAPSHOT_LEASE_SECONDS,
  WRITE_MAX_ATTEMPTS,
  WRITE_RETRY_DELAY_MS,
} from './fabricLimits';
import { storageErrorCode, storageStatus, translateStorageError } from './fabricStorageErrors';
import { alignSpan, splitRange } from './pageAlignment';
import { TableChangeJournal } from './tableChangeJournal';

/** What the fabric's guest agent does; the Vm model shows the platform's view of it (status + version). */
export const LOCAL_AGENT_STATES = ['missing', 'old', 'healthy', 'freeze-fails'] as const;
export type LocalAgentState = (typeof LOCAL_AGENT_STATES)[number];

export type LocalPowerState = 'running' | 'stopped' | 'deallocated';

/** Lower-case letters, digits and hyphens: safe as a blob name part and a table key on every backend. */
const VM_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Names of disks the fabric creates for restores: like VM names, a little longer. */
const DISK_NAME = /^[a-z0-9][a-z0-9-]{0,199}$/;
/** Azure: container names are 3-63 lower-case letters, digits and single hyphens, starting with a letter or digit. */
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9](?:-?[a-z0-9])*$/;
const REGION_NAME = /^[a-z][a-z0-9]{1,39}$/;

export interface CreateVmSpec {
  name: string;
  osType?: OsType;
  /** Size of every disk, a multiple of 512 bytes (Azure: page blob sizes are whole pages). */
  diskBytes: number;
  dataDisks?: number;
  /** Seed of the initial content; 'empty' writes nothing (every range unwritten). */
  content?: { seed: number } | 'empty';
  powerState?: LocalPowerState;
  agent?: LocalAgentState;
  /** Default FABRIC_REGION; another region lets tests show that discovery keeps to the vault's. */
  region?: string;
}

export interface DiskWrite {
  offset: number;
  data: Uint8Array;
}

export interface WriteReport {
  bytesWritten: number;
  /** Page-aligned ranges uploaded (what the journal records), merged. */
  ranges: ByteRange[];
}

export interface CreatedVm {
  vm: Vm;
  /** Per disk (same order as vm.disks), the extents written at creation. */
  content: DiskExtent[][];
}

interface VmRow {
  partitionKey: string;
  rowKey: string;
  osType: OsType;
  powerState: LocalPowerState;
  agentState: LocalAgentState;
  backupExtension: boolean;
  frozen: boolean;
  disks: string;
  /** Absent on rows written before regions existed: FABRIC_REGION. */
  region?: string;
}

const VM_PARTITION = 'vm';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Blob metadata on a disk snapshot naming its set, so a repeated snapshotVm(vm, setId) finds it. */
const SET_METADATA = 'strongboxset';

/** Local snapshot ids are `<blob snapshot timestamp>|<generation>`; only this file reads them. */
function encodeSnapshotId(snapshot: string, gen: number): string {
  return `${snapshot}|${gen}`;
}

function decodeSnapshotId(id: string): { snapshot: string; gen: number } {
  const [snapshot, gen] = id.split('|');
  const n = Number(gen);
  if (!snapshot || !Number.isSafeInteger(n) || n < 0) {
    throw new InventoryError(INVENTORY_ERROR_CODES.INVALID_ARGUMENT, `not a local fabric snapshot id: ${id}`);
  }
  return { snapshot, gen: n };
}

export interface LocalFabricOptions {
  containerName?: string;
  vmTableName?: string;
  journalTableName?: string;
}

export class LocalFabric implements Inventory, ChangeTracker, DiskSnapshotReader, VmProvisioner {
  private readonly journal: TableChangeJournal;
  private ready: Promise<void> | undefined;
  private readonly readyContainers = new Map<string, Promise<void>>();

  constructor(
    private readonly container: ContainerClient,
    private readonly vmTable: TableClient,
    journalTable: TableClient,
    /** For disks restored into other containers ("restore disks"); without it only `container` is used. */
    private readonly blobService?: BlobServiceClient,
  ) {
    this.journal = new TableChangeJournal(journalTable);
  }

  static fromConnectionString(raw: string, options: LocalFabricOptions = {}): LocalFabric {
    const parsed = parseStorageConnectionString(raw);
    if (!parsed.ok) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        `bad storage connection string: ${parsed.rule}`,
      );
    }
    const cs = parsed.value.connectionString;
    // data-tables refuses to sign plain-http requests unless told; Azurite listens on http.
    const tableOptions = { allowInsecureConnection: parsed.value.endpoints.table.startsWith('http:') };
    const service = BlobServiceClient.fromConnectionString(cs);
    return new LocalFabric(
      service.getContainerClient(options.containerName ?? FABRIC_DISK_CONTAINER),
      TableClient.fromConnectionString(cs, options.vmTableName ?? FABRIC_VM_TABLE, tableOptions),
      TableClient.fromConnectionString(cs, options.journalTableName ?? FABRIC_JOURNAL_TABLE, tableOptions),
      service,
    );
  }

  /** Creates the container and tables on first use; memoized, and reset on failure so the next call retries. */
  ensureReady(): Promise<void> {
    this.ready ??= (async () => {
      try {
        await this.container.createIfNotExists();
        await this.vmTable.createTable();
        await this.journal.ensureTable();
      } catch (err) {
        this.ready = undefined;
        throw translateStorageError(err, 'prepare fabric storage');
      }
    })();
    return this.ready;
  }

  // ---- Inventory -------------------------------------------------------------------------------

  async listVms(): Promise<Vm[]> {
    await this.ensureReady();
    const out: Vm[] = [];
    try {
      for await (const row of this.vmTable.listEntities<VmRow>()) out.push(toVm(row));
    } catch (err) {
      throw translateStorageError(err, 'list VMs');
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async getVm(vmId: string): Promise<Vm> {
    return toVm(await this.getRow(vmId));
  }

  async snapshotVm(vmId: string, setId?: string): Promise<VmSnapshotSet> {
    const vm = await this.getVm(vmId);
    const id = setId ?? `${vm.name}-${randomBytes(6).toString('hex')}`;
    const leases: Array<{ blob: PageBlobClient; leaseId: string }> = [];
    const snapshots: DiskSnapshot[] = [];
    const taken: string[] = [];
    try {
      // Fence every disk first, then snapshot: with all leases held no write lands on any disk, so
      // the snapshots of all disks are one point in time (crash-consistent as a set).
      for (const disk of vm.disks) leases.push(await this.acquireFence(disk.diskId));
      const takenAt = new Date().toISOString();
      for (const [i, disk] of vm.disks.entries()) {
        const { blob, leaseId } = leases[i]!;
        const conditions = { conditions: { leaseId } };
        const props = await blob.getProperties(conditions);
        const gen = props.blobSequenceNumber ?? 0;
        const complete = await this.journal.isGenerationComplete(disk.diskId, gen, props.etag ?? '');
        // Bumping the sequence number makes in-flight writes of generation `gen` fail their
        // ifSequenceNumberEqualTo condition, so they are journaled again under gen + 1.
        const bumped = await blob.updateSequenceNumber('increment', undefined, conditions);
        // An earlier call for this set (crashed or failed part-way) may have left a snapshot: replace it.
        if (setId !== undefined) await this.deleteSetSnapshots(disk.diskId, setId);
        const snap = await blob.createSnapshot({ ...conditions, metadata: { [SET_METADATA]: id } });
        if (snap.snapshot) taken.push(`${disk.diskId}|${snap.snapshot}`);
        if (!snap.snapshot || bumped.blobSequenceNumber !== gen + 1) {
          throw new InventoryError(
            INVENTORY_ERROR_CODES.FAILED,
            `snapshot of ${disk.diskId}: unexpected answer`,
          );
        }
        await this.journal.rollGeneration(
          disk.diskId,
          gen,
          complete,
          bumped.etag ?? '',
          snap.snapshot,
          takenAt,
        );
        snapshots.push({
          diskId: disk.diskId,
          snapshotId: encodeSnapshotId(snap.snapshot, gen + 1),
          sizeBytes: disk.sizeBytes,
          takenAt,
        });
      }
      return { setId: id, vmId: vm.id, takenAt, disks: snapshots };
    } catch (err) {
      // Release what this call took (best effort), and with a set id also what an earlier attempt of
      // the same set left on any disk (it crashed; this was its last retry).
      for (const t of taken) {
        const [diskId, snapshot] = t.split('|') as [string, string];
        await this.disk(diskId)
          .withSnapshot(snapshot)
          .deleteIfExists()
          .catch(() => undefined);
      }
      if (setId !== undefined) {
        for (const disk of vm.disks) await this.deleteSetSnapshots(disk.diskId, setId).catch(() => undefined);
      }
      throw translateStorageError(err, `snapshot ${vm.name}`);
    } finally {
      for (const { blob, leaseId } of leases) {
        // A lease we fail to release expires after SNAPSHOT_LEASE_SECONDS.
        await blob
          .getBlobLeaseClient(leaseId)
          .releaseLease()
          .catch(() => undefined);
      }
    }
  }

  /** Deletes the disk's snapshots tagged with `setId` (there is at most one, from an earlier attempt). */
  private async deleteSetSnapshots(diskId: string, setId: string): Promise<void> {
    for await (const b of this.container.listBlobsFlat({
      prefix: diskId,
      includeSnapshots: true,
      includeMetadata: true,
    })) {
      if (b.name === diskId && b.snapshot && b.metadata?.[SET_METADATA] === setId) {
        await this.disk(diskId).withSnapshot(b.snapshot).deleteIfExists();
      }
    }
  }

  async releaseSnapshots(set: VmSnapshotSet): Promise<void> {
    await this.ensureReady();
    for (const s of set.disks) {
      const { snapshot } = decodeSnapshotId(s.snapshotId);
      try {
        await this.disk(s.diskId).withSnapshot(snapshot).deleteIfExists();
      } catch (err) {
        throw translateStorageError(err, `release snapshot of ${s.diskId}`);
      }
    }
  }

  async freeze(vmId: string): Promise<GuestOutcome> {
    const row = await this.getRow(vmId);
    const guest = guestCheck(row);
    if (!guest.ok) return guest;
    if (!row.backupExtension) {
      return {
        ok: false,
        code: GUEST_OUTCOME_CODES.EXTENSION_MISSING,
        reason: `${row.rowKey}: backup extension not installed`,
      };
    }
    if (row.agentState === 'freeze-fails') {
      return {
        ok: false,
        code: GUEST_OUTCOME_CODES.FREEZE_FAILED,
        reason: `${row.rowKey}: the guest could not freeze its file systems`,
      };
    }
    await this.updateRow(row.rowKey, { frozen: true });
    return { ok: true };
  }

  async thaw(vmId: string): Promise<void> {
    const row = await this.getRow(vmId);
    if (row.frozen) await this.updateRow(row.rowKey, { frozen: false });
  }

  async installBackupExtension(vmId: string): Promise<GuestOutcome> {
    const row = await this.getRow(vmId);
    const guest = guestCheck(row);
    if (!guest.ok) return guest;
    if (!row.backupExtension) await this.updateRow(row.rowKey, { backupExtension: true });
    return { ok: true };
  }

  // ---- ChangeTracker and DiskSnapshotReader --------------------------------------------------------

  async changedRanges(diskId: string, from: DiskSnapshot, to: DiskSnapshot): Promise<ChangedRangesAnswer> {
    if (from.diskId !== diskId || to.diskId !== diskId) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        `snapshots are not both of disk ${diskId}`,
      );
    }
    await this.ensureReady();
    let a = decodeSnapshotId(from.snapshotId);
    let b = decodeSnapshotId(to.snapshotId);
    if (a.gen > b.gen) [a, b] = [b, a];
    const answer = await this.journal.changedBetween(diskId, a, b);
    return answer === 'unknown' ? answer : clipRanges(answer, Math.max(from.sizeBytes, to.sizeBytes));
  }

  async readRange(snapshot: DiskSnapshot, offset: number, length: number): Promise<Buffer> {
    if (!isRangeInside(offset, length, snapshot.sizeBytes)) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_RANGE,
        `range ${offset}+${length} is outside disk ${snapshot.diskId} (${snapshot.sizeBytes} bytes)`,
      );
    }
    if (length === 0) return Buffer.alloc(0);
    await this.ensureReady();
    const { snapshot: ts } = decodeSnapshotId(snapshot.snapshotId);
    let data: Buffer;
    try {
      data = await this.disk(snapshot.diskId).withSnapshot(ts).downloadToBuffer(offset, length);
    } catch (err) {
      throw translateStorageError(
        err,
        `read snapshot of ${snapshot.diskId}`,
        INVENTORY_ERROR_CODES.SNAPSHOT_NOT_FOUND,
      );
    }
    if (data.length !== length) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.TRANSIENT,
        `short read of ${snapshot.diskId}: ${data.length} of ${length} bytes`,
      );
    }
    return data;
  }

  async validRanges(snapshot: DiskSnapshot): Promise<readonly ByteRange[]> {
    await this.ensureReady();
    const { snapshot: ts } = decodeSnapshotId(snapshot.snapshotId);
    const out: ByteRange[] = [];
    try {
      // Page ranges are inclusive [start, end] (Get Page Ranges).
      for await (const r of this.disk(snapshot.diskId).withSnapshot(ts).listPageRanges()) {
        out.push({ offset: r.start, length: r.end - r.start + 1 });
      }
    } catch (err) {
      throw translateStorageError(
        err,
        `page ranges of ${snapshot.diskId}`,
        INVENTORY_ERROR_CODES.SNAPSHOT_NOT_FOUND,
      );
    }
    return mergeRanges(out);
  }

  // ---- VmProvisioner (restores) -------------------------------------------------------------------

  async createDisk(spec: ProvisionDiskSpec): Promise<ProvisionedDisk> {
    if (!DISK_NAME.test(spec.name)) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        `disk name must be 1-200 lower-case letters, digits or hyphens: ${JSON.stringify(spec.name)}`,
      );
    }
    checkDiskSize(spec.sizeBytes);
    const container = await this.containerFor(spec.container);
    const blob = container.getPageBlobClient(spec.name);
    const disk: ProvisionedDisk = {
      diskId: spec.name,
      location: container.containerName,
      sizeBytes: spec.sizeBytes,
      role: spec.role,
      lun: spec.lun,
    };
    try {
      // ifNoneMatch '*': a re-run finds the disk it created (a new page blob reads as zeros).
      await blob.create(spec.sizeBytes, { conditions: { ifNoneMatch: '*' } });
      return disk;
    } catch (err) {
      if (storageStatus(err) !== 409) throw translateStorageError(err, `create disk ${spec.name}`);
    }
    const props = await blob.getProperties().catch((err: unknown) => {
      throw translateStorageError(err, `disk ${spec.name}`);
    });
    if (props.contentLength !== spec.sizeBytes || props.blobType !== 'PageBlob') {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        `disk ${spec.name} already exists in ${container.containerName} with another size or type`,
      );
    }
    return disk;
  }

  async deleteDisk(disk: ProvisionedDisk): Promise<void> {
    const container = await this.containerFor(disk.location);
    try {
      await container.getPageBlobClient(disk.diskId).deleteIfExists();
    } catch (err) {
      throw translateStorageError(err, `delete disk ${disk.diskId}`);
    }
  }

  async writeDisk(disk: ProvisionedDisk, offset: number, data: Buffer): Promise<void>;
  async writeDisk(vmId: string, diskIndex: number, writes: readonly DiskWrite[]): Promise<WriteReport>;
  async writeDisk(
    target: ProvisionedDisk | string,
    offsetOrIndex: number,
    data: Buffer | readonly DiskWrite[],
  ): Promise<void | WriteReport> {
    if (typeof target === 'string')
      return this.writeVmDisk(target, offsetOrIndex, data as readonly DiskWrite[]);
    const buf = data as Buffer;
    if (buf.length === 0) return;
    if (!isRangeInside(offsetOrIndex, buf.length, target.sizeBytes)) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_RANGE,
        `write ${offsetOrIndex}+${buf.length} is outside disk ${target.diskId} (${target.sizeBytes} bytes)`,
      );
    }
    const container = await this.containerFor(target.location);
    const blob = container.getPageBlobClient(target.diskId);
    const span = alignSpan(offsetOrIndex, buf.length);
    let page = buf;
    if (span.headPartial || span.tailPartial) {
      page = Buffer.alloc(span.end - span.start);
      if (span.headPartial) (await this.readBase(blob, span.start, PAGE_BYTES)).copy(page, 0);
      if (span.tailPartial)
        (await this.readBase(blob, span.end - PAGE_BYTES, PAGE_BYTES)).copy(page, page.length - PAGE_BYTES);
      buf.copy(page, offsetOrIndex - span.start);
    }
    try {
      for (const piece of splitRange(0, page.length)) {
        await blob.uploadPages(
          page.subarray(piece.offset, piece.offset + piece.length),
          span.start + piece.offset,
          piece.length,
        );
      }
    } catch (err) {
      throw translateStorageError(err, `write disk ${target.diskId}`);
    }
  }

  async createVmFromDisks(spec: NewVmSpec): Promise<Vm> {
    if (!VM_NAME.test(spec.name)) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        `VM name must be 1-63 lower-case letters, digits or hyphens, starting with a letter or digit: ${JSON.stringify(spec.name)}`,
      );
    }
    const disks = await this.adoptDisks(spec.name, spec.disks);
    const row: VmRow = {
      partitionKey: VM_PARTITION,
      rowKey: spec.name,
      osType: spec.osType,
      powerState: 'running',
      agentState: 'healthy',
      backupExtension: false,
      frozen: false,
      disks: JSON.stringify(disks),
      region: spec.region,
    };
    try {
      await this.vmTable.createEntity(row);
    } catch (err) {
      if (storageStatus(err) === 409) {
        throw new InventoryError(INVENTORY_ERROR_CODES.VM_ALREADY_EXISTS, `VM ${spec.name} already exists`, {
          cause: err,
        });
      }
      throw translateStorageError(err, `create VM ${spec.name}`);
    }
    return toVm(row);
  }

  async replaceDisks(vmId: string, disks: ProvisionedDisk[]): Promise<{ vm: Vm; detached: VmDisk[] }> {
    const row = await this.getRow(vmId);
    const current = parseDisks(row);
    const incoming = await this.adoptDisks(row.rowKey, disks);
    const next = current.map((d) => incoming.find((n) => n.role === d.role && n.lun === d.lun) ?? d);
    const detached = current.filter((d) => !next.includes(d));
    const wasRunning = row.powerState === 'running';
    // Azure stops the VM for the swap; a running guest must never see its disk change underneath it.
    if (wasRunning) await this.updateRow(row.rowKey, { powerState: 'stopped', frozen: false });
    await this.updateRow(row.rowKey, { disks: JSON.stringify(next) });
    const after = wasRunning
      ? await this.updateRow(row.rowKey, { powerState: 'running' })
      : await this.getRow(vmId);
    return { vm: toVm(after), detached };
  }

  // ---- Fabric administration (CLI and tests; not part of the ports) ------------------------------

  async createVm(spec: CreateVmSpec): Promise<CreatedVm> {
    if (!VM_NAME.test(spec.name)) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        `VM name must be 1-63 lower-case letters, digits or hyphens, starting with a letter or digit: ${JSON.stringify(spec.name)}`,
      );
    }
    const size = spec.diskBytes;
    checkDiskSize(size);
    if (spec.region !== undefined && !REGION_NAME.test(spec.region)) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        `region must be 2-40 lower-case letters and digits, starting with a letter: ${JSON.stringify(spec.region)}`,
      );
    }
    const dataDisks = spec.dataDisks ?? 0;
    if (!Number.isInteger(dataDisks) || dataDisks < 0 || dataDisks > 64) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        `data disks must be 0..64, got ${dataDisks}`,
      );
    }
    await this.ensureReady();
    const suffix = randomBytes(4).toString('hex');
    const disks: VmDisk[] = [
      {
        diskId: `${spec.name}-osdisk-${suffix}`,
        name: `${spec.name}-osdisk`,
        role: 'os',
        lun: undefined,
        sizeBytes: size,
      },
    ];
    for (let lun = 0; lun < dataDisks; lun += 1) {
      disks.push({
        diskId: `${spec.name}-data${lun}-${suffix}`,
        name: `${spec.name}-data${lun}`,
        role: 'data',
        lun,
        sizeBytes: size,
      });
    }
    const row: VmRow = {
      partitionKey: VM_PARTITION,
      rowKey: spec.name,
      osType: spec.osType ?? 'linux',
      powerState: spec.powerState ?? 'running',
      agentState: spec.agent ?? 'healthy',
      backupExtension: false,
      frozen: false,
      disks: JSON.stringify(disks),
      ...(spec.region !== undefined ? { region: spec.region } : {}),
    };
    try {
      await this.vmTable.createEntity(row);
    } catch (err) {
      if (storageStatus(err) === 409) {
        throw new InventoryError(INVENTORY_ERROR_CODES.VM_ALREADY_EXISTS, `VM ${spec.name} already exists`, {
          cause: err,
        });
      }
      throw translateStorageError(err, `create VM ${spec.name}`);
    }
    const content: DiskExtent[][] = [];
    try {
      for (const [i, disk] of disks.entries()) {
        const created = await this.disk(disk.diskId).create(size);
        await this.journal.startDisk(disk.diskId, 0, created.etag ?? '');
        const seed = spec.content === 'empty' || spec.content === undefined ? undefined : spec.content.seed;
        const extents = seed === undefined ? [] : planDiskContent(size, seed * 1000 + i);
        for (const e of extents) {
          await this.writeToDisk(disk, [{ offset: e.offset, data: renderExtent(e, seed! * 1000 + i) }]);
        }
        content.push(extents);
      }
    } catch (err) {
      await this.deleteVm(spec.name).catch(() => undefined);
      throw translateStorageError(err, `create VM ${spec.name}`);
    }
    return { vm: toVm(row), content };
  }

  async deleteVm(vmId: string): Promise<void> {
    const row = await this.getRow(vmId);
    for (const disk of parseDisks(row)) {
      try {
        await this.disk(disk.diskId).deleteIfExists({ deleteSnapshots: 'include' });
      } catch (err) {
        throw translateStorageError(err, `delete disk ${disk.diskId}`);
      }
      await this.journal.dropDisk(disk.diskId);
    }
    try {
      await this.vmTable.deleteEntity(VM_PARTITION, row.rowKey);
    } catch (err) {
      if (storageStatus(err) !== 404) throw translateStorageError(err, `delete VM ${row.rowKey}`);
    }
  }

  async setPowerState(vmId: string, powerState: LocalPowerState): Promise<Vm> {
    const row = await this.getRow(vmId);
    // A VM that stops is no longer frozen: its guest is gone.
    return toVm(
      await this.updateRow(row.rowKey, { powerState, frozen: powerState === 'running' ? row.frozen : false }),
    );
  }

  async setAgentState(vmId: string, agentState: LocalAgentState): Promise<Vm> {
    const row = await this.getRow(vmId);
    return toVm(await this.updateRow(row.rowKey, { agentState }));
  }

  /**
   * Writes like the VM's workload: through the journal, into the base blob. Any byte range is
   * accepted; unaligned ends are widened to whole pages by read-modify-write (Azure: Put Page takes
   * 512-byte-aligned ranges only). The RMW is not atomic against other writers of the same pages.
   * Writes in one call must not overlap. INVENTORY.VM_NOT_RUNNING, INVENTORY.VM_FROZEN.
   */
  private async writeVmDisk(
    vmId: string,
    diskIndex: number,
    writes: readonly DiskWrite[],
  ): Promise<WriteReport> {
    const row = await this.getRow(vmId);
    if (row.powerState !== 'running') {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.VM_NOT_RUNNING,
        `VM ${row.rowKey} is ${row.powerState}: only a running VM writes`,
      );
    }
    if (row.frozen) {
      throw new InventoryError(INVENTORY_ERROR_CODES.VM_FROZEN, `VM ${row.rowKey} is frozen: thaw it first`);
    }
    const disk = parseDisks(row)[diskIndex];
    if (!disk) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.DISK_NOT_FOUND,
        `VM ${row.rowKey} has no disk ${diskIndex}`,
      );
    }
    return this.writeToDisk(disk, writes);
  }

  /** `percent` % of the disk in distinct `blockBytes` blocks of seeded random bytes, like a running workload. */
  async scatterWrite(
    vmId: string,
    diskIndex: number,
    opts: { percent: number; blockBytes: number; seed: number },
  ): Promise<WriteReport & { writes: DiskWrite[] }> {
    const vm = await this.getVm(vmId);
    const disk = vm.disks[diskIndex];
    if (!disk)
      throw new InventoryError(
        INVENTORY_ERROR_CODES.DISK_NOT_FOUND,
        `VM ${vm.name} has no disk ${diskIndex}`,
      );
    let offsets: number[];
    try {
      offsets = planScatteredWrites(disk.sizeBytes, opts.percent, opts.blockBytes, opts.seed);
    } catch (err) {
      throw new InventoryError(INVENTORY_ERROR_CODES.INVALID_ARGUMENT, (err as Error).message);
    }
    const writes = offsets.map((offset) => ({
      offset,
      data: seededBytes(opts.seed, `write@${offset}`, opts.blockBytes),
    }));
    return { ...(await this.writeDisk(vmId, diskIndex, writes)), writes };
  }

  /** Drops what the journal knows about the current generation, as a lost change-tracking file would. */
  async resetChangeTracking(vmId: string): Promise<void> {
    const vm = await this.getVm(vmId);
    for (const disk of vm.disks) {
      const props = await this.disk(disk.diskId)
        .getProperties()
        .catch((err: unknown) => {
          throw translateStorageError(err, `disk ${disk.diskId}`, INVENTORY_ERROR_CODES.DISK_NOT_FOUND);
        });
      await this.journal.markReset(disk.diskId, props.blobSequenceNumber ?? 0);
    }
  }

  /** The page blob behind a disk, for tests that write around the fabric (a "foreign" writer). */
  pageBlob(diskId: string): PageBlobClient {
    return this.disk(diskId);
  }

  // ---- internals -------------------------------------------------------------------------------

  private disk(diskId: string): PageBlobClient {
    return this.container.getPageBlobClient(diskId);
  }

  /** The fabric's own disk container, or another one (created on first use) for "restore disks". */
  private async containerFor(name: string | undefined): Promise<ContainerClient> {
    await this.ensureReady();
    if (name === undefined || name === this.container.containerName) return this.container;
    if (!CONTAINER_NAME.test(name)) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        `container name must be 3-63 lower-case letters, digits and single hyphens: ${JSON.stringify(name)}`,
      );
    }
    if (!this.blobService) {
      throw new InventoryError(
        INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
        'this fabric was built without a blob service client; it can only use its own container',
      );
    }
    const client = this.blobService.getContainerClient(name);
    let ready = this.readyContainers.get(name);
    if (!ready) {
      ready = client.createIfNotExists().then(
        () => undefined,
        (err: unknown) => {
          this.readyContainers.delete(name);
          throw translateStorageError(err, `create container ${name}`);
        },
      );
      this.readyContainers.set(name, ready);
    }
    await ready;
    return client;
  }

  /**
   * Provisioned disks become VM disks: they must be in the fabric's container, and they start a
   * change journal at their current content (their restored bytes are the base of the first backup).
   */
  private async adoptDisks(vmName: string, disks: readonly ProvisionedDisk[]): Promise<VmDisk[]> {
    await this.ensureReady();
    const out: VmDisk[] = [];
    for (const d of disks) {
      if (d.location !== this.container.containerName) {
        throw new InventoryError(
          INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
          `disk ${d.diskId} is in container ${d.location}; a VM's disks must be in ${this.container.containerName}`,
        );
      }
      const props = await this.disk(d.diskId)
        .getProperties()
        .catch((err: unknown) => {
          throw translateStorageError(err, `disk ${d.diskId}`, INVENTORY_ERROR_CODES.DISK_NOT_FOUND);
        });
      await this.journal.startDisk(d.diskId, props.blobSequenceNumber ?? 0, props.etag ?? '');
      out.push({
        diskId: d.diskId,
        name: d.role === 'os' ? `${vmName}-osdisk` : `${vmName}-data${d.lun ?? 0}`,
        role: d.role,
        lun: d.role === 'os' ? undefined : d.lun,
        sizeBytes: d.sizeBytes,
      });
    }
    return out;
  }

  private async writeToDisk(disk: VmDisk, writes: readonly DiskWrite[]): Promise<WriteReport> {
    const blob = this.disk(disk.diskId);
    const sorted = [...writes].sort((a, b) => a.offset - b.offset);
    for (const [i, w] of sorted.entries()) {
      if (w.data.length === 0 || !isRangeInside(w.offset, w.data.length, disk.sizeBytes)) {
        throw new InventoryError(
          INVENTORY_ERROR_CODES.INVALID_RANGE,
          `write ${w.offset}+${w.data.length} is empty or outside disk ${disk.name} (${disk.sizeBytes} bytes)`,
        );
      }
      const next = sorted[i + 1];
      if (next && next.offset < w.offset + w.data.length) {
        throw new InventoryError(INVENTORY_ERROR_CODES.INVALID_ARGUMENT, `writes overlap at ${next.offset}`);
      }
    }
    // Widen to whole pages: read the partial first and last pages and lay the new bytes over them.
    const pages: Array<{ offset: number; data: Buffer }> = [];
    for (const w of sorted) {
      const span = alignSpan(w.offset, w.data.length);
      let buf: Buffer;
      if (!span.headPartial && !span.tailPartial) {
        buf = Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength);
      } else {
        buf = Buffer.alloc(span.end - span.start);
        if (span.headPartial) (await this.readBase(blob, span.start, PAGE_BYTES)).copy(buf, 0);
        if (span.tailPartial)
          (await this.readBase(blob, span.end - PAGE_BYTES, PAGE_BYTES)).copy(buf, buf.length - PAGE_BYTES);
        buf.set(w.data, w.offset - span.start);
      }
      pages.push({ offset: span.start, data: buf });
    }
    const ranges = mergeRanges(pages.map((p) => ({ offset: p.offset, length: p.data.length })));
    const bytesWritten = writes.reduce((n, w) => n + w.data.length, 0);

    for (let attempt = 1; ; attempt += 1) {
      let gen: number;
      try {
        gen = (await blob.getProperties()).blobSequenceNumber ?? 0;
      } catch (err) {
        throw translateStorageError(err, `disk ${disk.name}`, INVENTORY_ERROR_CODES.DISK_NOT_FOUND);
      }
      // Journal first (write-ahead): a crash after the upload can only over-report, never miss.
      const rowKeys = await this.journal.recordWrites(disk.diskId, gen, ranges);
      let lastEtag: string | undefined;
      try {
        for (const p of pages) {
          for (const piece of splitRange(0, p.data.length)) {
            const res = await blob.uploadPages(
              p.data.subarray(piece.offset, piece.offset + piece.length),
              p.offset + piece.offset,
              piece.length,
              {
                conditions: { ifSequenceNumberEqualTo: gen },
              },
            );
            lastEtag = res.etag;
          }
        }
      } catch (err) {
        const code = storageErrorCode(err);
        // A snapshot fenced us (lease held) or bumped the generation: journal again under the new one.
        if (
          (code === 'SequenceNumberConditionNotMet' || code === 'LeaseIdMissing') &&
          attempt < WRITE_MAX_ATTEMPTS
        ) {
          await sleep(WRITE_RETRY_DELAY_MS);
          continue;
        }
        throw translateStorageError(err, `write disk ${disk.name}`);
      }
      if (lastEtag && rowKeys[0]) await this.journal.recordWriteEtag(disk.diskId, rowKeys[0], lastEtag);
      return { bytesWritten, ranges };
    }
  }

  private async readBase(blob: PageBlobClient, offset: number, length: number): Promise<Buffer> {
    try {
      return await blob.downloadToBuffer(offset, length);
    } catch (err) {
      throw translateStorageError(err, 'read-modify-write');
    }
  }

  private async acquireFence(diskId: string): Promise<{ blob: PageBlobClient; leaseId: string }> {
    const blob = this.disk(diskId);
    for (let attempt = 1; ; attempt += 1) {
      const lease = blob.getBlobLeaseClient();
      try {
        await lease.acquireLease(SNAPSHOT_LEASE_SECONDS);
        return { blob, leaseId: lease.leaseId };
      } catch (err) {
        // 409 LeaseAlreadyPresent: another snapshot of this disk is running; it ends within seconds.
        if (storageStatus(err) === 409 && attempt < LEASE_MAX_ATTEMPTS) {
          await sleep(LEASE_RETRY_DELAY_MS);
          continue;
        }
        throw translateStorageError(err, `fence disk ${diskId}`, INVENTORY_ERROR_CODES.DISK_NOT_FOUND);
      }
    }
  }

  private async getRow(vmId: string): Promise<VmRow> {
    await this.ensureReady();
    const name = vmNameOf(vmId);
    if (name === undefined) throw new InventoryError(INVENTORY_ERROR_CODES.VM_NOT_FOUND, `no VM ${vmId}`);
    try {
      return await this.vmTable.getEntity<VmRow>(VM_PARTITION, name);
    } catch (err) {
      throw translateStorageError(err, `VM ${name}`, INVENTORY_ERROR_CODES.VM_NOT_FOUND);
    }
  }

  private async updateRow(name: string, patch: Partial<VmRow>): Promise<VmRow> {
    try {
      await this.vmTable.updateEntity({ partitionKey: VM_PARTITION, rowKey: name, ...patch }, 'Merge');
      return await this.vmTable.getEntity<VmRow>(VM_PARTITION, name);
    } catch (err) {
      throw translateStorageError(err, `VM ${name}`, INVENTORY_ERROR_CODES.VM_NOT_FOUND);
    }
  }
}

/** The fabric's ARM-style resource id for a VM name. */
export function localVmId(name: string): string {
  return `/subscriptions/${FABRIC_SUBSCRIPTION_ID}/resourceGroups/${FABRIC_RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachines/${name}`;
}

/** A VM's name from its id (case-insensitive, as ARM ids are) or from a bare name; undefined if neither. */
export function vmNameOf(vmIdOrName: string): string | undefined {
  if (VM_NAME.test(vmIdOrName)) return vmIdOrName;
  const prefix = localVmId('').toLowerCase();
  const lower = vmIdOrName.toLowerCase();
  if (!lower.startsWith(prefix)) return undefined;
  const name = lower.slice(prefix.length);
  return VM_NAME.test(name) ? name : undefined;
}

function checkDiskSize(size: number): void {
  if (
    !Number.isSafeInteger(size) ||
    size < PAGE_BYTES ||
    size % PAGE_BYTES !== 0 ||
    size > PAGE_BLOB_MAX_BYTES
  ) {
    throw new InventoryError(
      INVENTORY_ERROR_CODES.INVALID_ARGUMENT,
      `disk size must be a multiple of ${PAGE_BYTES} bytes between ${PAGE_BYTES} and 8 TiB (Azure page blob limits), got ${size}`,
    );
  }
}

function parseDisks(row: VmRow): VmDisk[] {
  return (JSON.parse(row.disks) as Array<Omit<VmDisk, 'lun'> & { lun?: number }>).map((d) => ({
    ...d,
    lun: d.lun,
  }));
}

function agentInfo(state: LocalAgentState): GuestAgentInfo {
  if (state === 'missing') return { status: 'missing', version: undefined };
  return {
    status: 'ready',
    version: state === 'old' ? FABRIC_AGENT_VERSION_OLD : FABRIC_AGENT_VERSION_HEALTHY,
  };
}

function toVm(row: VmRow): Vm {
  return {
    id: localVmId(row.rowKey),
    name: row.rowKey,
    resourceGroup: FABRIC_RESOURCE_GROUP,
    region: row.region ?? FABRIC_REGION,
    powerState: row.powerState,
    osType: row.osType,
    agent: agentInfo(row.agentState),
    backupExtensionInstalled: row.backupExtension,
    disks: parseDisks(row),
  };
}

/** What the guest must be for the agent to act: running, with an agent of a supported version. */
function guestCheck(row: VmRow): GuestOutcome {
  if (row.powerState !== 'running') {
    return {
      ok: false,
      code: GUEST_OUTCOME_CODES.VM_NOT_RUNNING,
      reason: `${row.rowKey} is ${row.powerState}`,
    };
  }
  const agent = agentInfo(row.agentState);
  if (agent.status === 'missing') {
    return { ok: false, code: GUEST_OUTCOME_CODES.AGENT_MISSING, reason: `${row.rowKey} has no guest agent` };
  }
  if (!isAgentVersionSupported(agent.version)) {
    return {
      ok: false,
      code: GUEST_OUTCOME_CODES.AGENT_OUTDATED,
      reason: `${row.rowKey}: guest agent ${agent.version} is too old`,
    };
  }
  return { ok: true };
}
