// The VM workflows' own rows, in their own table (StateStore port): what discovery found, the
// protection schedule index the scheduler and the retention timer walk, the markers that make each
// scheduled time start once, the snapshot each item keeps for change tracking, and the vault points
// waiting for garbage collection. Control-plane rows (items, points, jobs) stay in the control plane.
import { STATE_ERROR, type StateStore } from '../state/stateStore';
import { hasErrorCode } from '../errors';
import type { VmSnapshotSet } from '../inventory/inventory';
import { queryAll } from '../state/queryAll';

export const VM_STATE_TABLE = 'StrongboxVmProtection';
/** The partition every protected item of every subscription is listed in (the scheduler walks it). */
const SCHEDULE_PARTITION = 'schedule';
const SLOT_PARTITION = 'slots';
/** Vaults with tombstones (data-plane points to collect), so retention finds them across subscriptions. */
const GC_PARTITION = 'gcvaults';
/** Soft-deleted items across subscriptions, so retention visits their vaults and purges them in time. */
const SOFT_DELETED_PARTITION = 'softdeleted';

export interface SoftDeletedDoc {
  readonly sub: string;
  readonly vault: string;
  readonly item: string;
  readonly purgeAfter: string;
  readonly [field: string]: unknown;
}

const k = (s: string) => s.toLowerCase();
/** One key per item across subscriptions: `sub|vault|item`, lower case ('|' is in no name). */
export function itemKey(sub: string, vault: string, item: string): string {
  return `${k(sub)}|${k(vault)}|${k(item)}`;
}

export interface DiscoveredVmDoc {
  readonly vmId: string;
  readonly name: string;
  readonly resourceGroup: string;
  readonly region: string;
  readonly osType: string;
  readonly powerState: string;
  readonly agentStatus: string;
  readonly agentVersion?: string;
  readonly dataDiskCount: number;
  readonly discoveredAt: string;
  readonly [field: string]: unknown;
}

export interface ScheduleEntryDoc {
  readonly subscriptionId: string;
  readonly vaultName: string;
  readonly itemName: string;
  readonly policyName: string;
  /** Orchestration time protection was configured; no scheduled time before it runs. */
  readonly protectedAt: string;
  /**
   * The newest scheduled time the scheduler has handled (started, or found started). Times after it
   * that fell out of the catch-up window were missed, and are reported (scheduler.ts).
   */
  readonly lastSlotAt?: string;
  readonly [field: string]: unknown;
}

/** The disks of the last recovery point, and the snapshot kept for the next incremental. */
export interface LastBackupDoc {
  readonly vmId: string;
  readonly recoveryPointId: string;
  readonly pointTime: string;
  /** The snapshot set the last point was taken from; released when the next point commits. */
  readonly snapshotSet: VmSnapshotSet;
  readonly disks: readonly PointDisk[];
  readonly [field: string]: unknown;
}

/** One disk of a VM recovery point (stored on the control-plane point as `disks`). */
export interface PointDisk {
  readonly diskId: string;
  readonly name: string;
  readonly role: 'os' | 'data';
  readonly lun: number | null;
  readonly sizeBytes: number;
  /** The data-plane point of this disk. */
  readonly vaultPointId: string;
}

/** A data-plane point whose control-plane point is gone: prune deletes it, then the tombstone. */
export interface TombstoneDoc {
  readonly vaultPointId: string;
  readonly itemName: string;
  readonly recoveryPointId: string;
  readonly at: string;
  readonly [field: string]: unknown;
}

export interface RetentionRunDoc {
  readonly at: string;
  readonly pointsDeleted: number;
  readonly vaultPointsDeleted: number;
  readonly packsDeleted: number;
  readonly bytesFreed: number;
  readonly [field: string]: unknown;
}

export interface VmStateStore {
  putDiscovered(sub: string, vault: string, vms: readonly DiscoveredVmDoc[]): Promise<void>;
  listDiscovered(sub: string, vault: string): Promise<DiscoveredVmDoc[]>;
  getDiscovered(sub: string, vault: string, vmName: string): Promise<DiscoveredVmDoc | undefined>;

  putSchedule(entry: ScheduleEntryDoc): Promise<void>;
  /**
   * Moves the entry's lastSlotAt forward (never back), conditional on the row's ETag: an entry
   * removed meanwhile (protection stopped) is not brought back. False if there was no entry.
   */
  advanceLastSlot(sub: string, vault: string, item: string, slotIso: string): Promise<boolean>;
  removeSchedule(sub: string, vault: string, item: string): Promise<void>;
  listSchedules(): Promise<ScheduleEntryDoc[]>;

  /** Insert-if-absent of a scheduled time's marker: true if this call claimed it. */
  claimSlot(key: string, slotIso: string): Promise<boolean>;
  /** Deletes the item's markers of slots before `beforeIso`. */
  dropSlotsBefore(key: string, beforeIso: string): Promise<void>;

  getLastBackup(sub: string, vault: string, item: string): Promise<LastBackupDoc | undefined>;
  putLastBackup(sub: string, vault: string, item: string, doc: LastBackupDoc): Promise<void>;
  deleteLastBackup(sub: string, vault: string, item: string): Promise<void>;

  /** Also lists the vault for collection (listGcVaults). */
  addTombstones(sub: string, vault: string, docs: readonly TombstoneDoc[]): Promise<void>;
  listGcVaults(): Promise<{ sub: string; vault: string }[]>;
  /** Drops the vault from listGcVaults once it has no tombstones left. */
  clearGcVault(sub: string, vault: string): Promise<void>;
  listTombstones(sub: string, vault: string): Promise<TombstoneDoc[]>;
  deleteTombstones(sub: string, vault: string, vaultPointIds: readonly string[]): Promise<void>;

  /** Lists a soft-deleted item for its purge (idempotent). */
  putSoftDeleted(doc: SoftDeletedDoc): Promise<void>;
  removeSoftDeleted(sub: string, vault: string, item: string): Promise<void>;
  /** Every soft-deleted item, or those of one vault. */
  listSoftDeleted(sub?: string, vault?: string): Promise<SoftDeletedDoc[]>;

  putRetentionRun(sub: string, vault: string, doc: RetentionRunDoc): Promise<void>;
  getRetentionRun(sub: string, vault: string): Promise<RetentionRunDoc | undefined>;
}

const T = VM_STATE_TABLE;

export function vmStateStore(store: StateStore): VmStateStore {
  const listAll = async <D extends { readonly [field: string]: unknown }>(pk: string, prefix: string) => {
    const rows = await queryAll<D>(store, T, pk, { rowKeyPrefix: prefix });
    return rows.map((e) => ({ rowKey: e.rowKey, value: e.value }));
  };
  const deleteIfPresent = async (pk: string, rk: string) => {
    const row = await store.get(T, pk, rk);
    if (!row) return;
    try {
      await store.delete(T, pk, rk, row.etag);
    } catch (err) {
      if (!hasErrorCode(err, STATE_ERROR.NOT_FOUND) && !hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED))
        throw err;
    }
  };
  const disc = (vault: string, vm = '') => `disc|${k(vault)}|${k(vm)}`;
  const last = (vault: string, item: string) => `last|${k(vault)}|${k(item)}`;
  const tomb = (vault: string, id = '') => `tomb|${k(vault)}|${id}`;

  return {
    async putDiscovered(sub, vault, vms) {
      // Replace the vault's discovery results: VMs no longer found (deleted, moved) drop out.
      const before = await listAll<DiscoveredVmDoc>(k(sub), disc(vault));
      const keep = new Set(vms.map((vm) => disc(vault, vm.name)));
      for (const vm of vms) await store.upsert(T, k(sub), disc(vault, vm.name), vm);
      for (const row of before) if (!keep.has(row.rowKey)) await deleteIfPresent(k(sub), row.rowKey);
    },
    async listDiscovered(sub, vault) {
      return (await listAll<DiscoveredVmDoc>(k(sub), disc(vault))).map((r) => r.value);
    },
    async getDiscovered(sub, vault, vmName) {
      return (await store.get<DiscoveredVmDoc>(T, k(sub), disc(vault, vmName)))?.value;
    },
    async putSchedule(entry) {
      await store.upsert(
        T,
        SCHEDULE_PARTITION,
        itemKey(entry.subscriptionId, entry.vaultName, entry.itemName),
        entry,
      );
    },
    async advanceLastSlot(sub, vault, item, slotIso) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const row = await store.get<ScheduleEntryDoc>(T, SCHEDULE_PARTITION, itemKey(sub, vault, item));
        if (!row) return false;
        const was = row.value.lastSlotAt;
        if (was !== undefined && Date.parse(was) >= Date.parse(slotIso)) return true;
        try {
          await store.update(
            T,
            SCHEDULE_PARTITION,
            itemKey(sub, vault, item),
            { ...row.value, lastSlotAt: slotIso },
            row.etag,
          );
          return true;
        } catch (err) {
          if (
            !hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) &&
            !hasErrorCode(err, STATE_ERROR.NOT_FOUND)
          )
            throw err;
        }
      }
      return false;
    },
    removeSchedule: (sub, vault, item) => deleteIfPresent(SCHEDULE_PARTITION, itemKey(sub, vault, item)),
    async listSchedules() {
      return (await listAll<ScheduleEntryDoc>(SCHEDULE_PARTITION, '')).map((r) => r.value);
    },
    async claimSlot(key, slotIso) {
      try {
        await store.insert(T, SLOT_PARTITION, `${key}|${slotIso}`, { slot: slotIso });
        return true;
      } catch (err) {
        if (hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS)) return false;
        throw err;
      }
    },
    async dropSlotsBefore(key, beforeIso) {
      for (const row of await listAll<{ slot: string }>(SLOT_PARTITION, `${key}|`)) {
        if (row.value.slot < beforeIso) await deleteIfPresent(SLOT_PARTITION, row.rowKey);
      }
    },
    async getLastBackup(sub, vault, item) {
      return (await store.get<LastBackupDoc>(T, k(sub), last(vault, item)))?.value;
    },
    async putLastBackup(sub, vault, item, doc) {
      await store.upsert(T, k(sub), last(vault, item), doc);
    },
    deleteLastBackup: (sub, vault, item) => deleteIfPresent(k(sub), last(vault, item)),
    async addTombstones(sub, vault, docs) {
      if (docs.length === 0) return;
      await store.upsert(T, GC_PARTITION, `${k(sub)}|${k(vault)}`, { sub: k(sub), vault: k(vault) });
      for (const d of docs) await store.upsert(T, k(sub), tomb(vault, d.vaultPointId), d);
    },
    async listGcVaults() {
      return (await listAll<{ sub: string; vault: string }>(GC_PARTITION, '')).map((r) => ({
        sub: r.value.sub,
        vault: r.value.vault,
      }));
    },
    async clearGcVault(sub, vault) {
      if ((await listAll(k(sub), tomb(vault))).length > 0) return;
      await deleteIfPresent(GC_PARTITION, `${k(sub)}|${k(vault)}`);
    },
    async listTombstones(sub, vault) {
      return (await listAll<TombstoneDoc>(k(sub), tomb(vault))).map((r) => r.value);
    },
    async deleteTombstones(sub, vault, ids) {
      for (const id of ids) await deleteIfPresent(k(sub), tomb(vault, id));
    },
    async putSoftDeleted(doc) {
      await store.upsert(T, SOFT_DELETED_PARTITION, itemKey(doc.sub, doc.vault, doc.item), doc);
    },
    async removeSoftDeleted(sub, vault, item) {
      await deleteIfPresent(SOFT_DELETED_PARTITION, itemKey(sub, vault, item));
    },
    async listSoftDeleted(sub, vault) {
      // Row keys are itemKey(sub, vault, item): one vault's rows share the prefix `sub|vault|`.
      const prefix = sub !== undefined && vault !== undefined ? itemKey(sub, vault, '') : '';
      return (await listAll<SoftDeletedDoc>(SOFT_DELETED_PARTITION, prefix)).map((r) => r.value);
    },
    async putRetentionRun(sub, vault, doc) {
      await store.upsert(T, k(sub), `retention|${k(vault)}`, doc);
    },
    async getRetentionRun(sub, vault) {
      return (await store.get<RetentionRunDoc>(T, k(sub), `retention|${k(vault)}`))?.value;
    },
  };
}
