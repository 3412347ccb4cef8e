// The ChangeTracker and DiskSnapshotReader ports: how an incremental VM backup learns which bytes of
// a disk changed between two snapshots, and reads them. The vault's own ChangedRanges port
// (shared/vault/backupSource.ts) has the same meaning for its local sources ("ranges written since a
// token, or 'unknown'"); it has no VM-disk source kind yet, so this port is keyed by disk snapshots.
import type { ByteRange } from './byteRanges';
import type { DiskSnapshot } from './inventory';

/**
 * Ranges that may differ between two snapshots of one disk (a superset is allowed, a subset never),
 * merged and sorted; or 'unknown' when the adapter cannot vouch for the interval, in which case the
 * backup must read the whole disk (or its valid ranges) and let dedup keep the upload small.
 */
export type ChangedRangesAnswer = readonly ByteRange[] | 'unknown';

export interface ChangeTracker {
  /**
   * Changes between `from` and `to`, two snapshots of `diskId` (in either order).
   * INVENTORY.INVALID_ARGUMENT if a snapshot is of another disk.
   */
  changedRanges(diskId: string, from: DiskSnapshot, to: DiskSnapshot): Promise<ChangedRangesAnswer>;
}

export interface DiskSnapshotReader {
  /** Exactly `length` bytes at `offset`. INVENTORY.INVALID_RANGE outside the disk; INVENTORY.SNAPSHOT_NOT_FOUND. */
  readRange(snapshot: DiskSnapshot, offset: number, length: number): Promise<Buffer>;
  /** Ranges ever written (merged, sorted); bytes outside them read as zeros, so a full backup can skip them. */
  validRanges(snapshot: DiskSnapshot): Promise<readonly ByteRange[]>;
}
