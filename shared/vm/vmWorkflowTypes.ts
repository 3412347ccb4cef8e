// The plain-JSON inputs and outputs that cross the durable boundary between the VM orchestrations and
// their activities. Nothing here holds a secret (no keys, no SAS): only names, ids and numbers.
import type { DiskSnapshot, OsType, PowerState, VmDisk, VmSnapshotSet } from '../inventory/inventory';
import type { ProvisionedDisk } from '../inventory/vmProvisioner';
import type { DiskBackupPlan } from '../vault';
import type { Consistency } from './snapshotConsistency';
import type { PointDisk } from './vmStateStore';

/** Which item an operation is about. */
export interface ItemRef {
  readonly sub: string;
  readonly vault: string;
  readonly item: string;
}

export interface JobRef {
  readonly sub: string;
  readonly vault: string;
  readonly jobId: string;
}

export interface BackupInput extends ItemRef {
  readonly jobId: string;
  readonly trigger: 'adhoc' | 'scheduled';
  /** Scheduled backups: the scheduled time (ISO) this backup is for. */
  readonly scheduledTime?: string;
  /** Ad-hoc backups: keep the point until then (ISO). */
  readonly retainUntil?: string;
}

export interface BackupSource {
  readonly vmId: string;
  readonly vmName: string;
  readonly osType: OsType;
  readonly region: string;
  readonly powerState: PowerState;
  readonly disks: readonly VmDisk[];
}

export interface BackupParent {
  readonly recoveryPointId: string;
  readonly snapshotSet: VmSnapshotSet;
  readonly disks: readonly PointDisk[];
}

export interface PreparedBackup {
  readonly source: BackupSource;
  readonly parent?: BackupParent;
}

export interface TakenSnapshot {
  readonly set: VmSnapshotSet;
  readonly consistency: Consistency;
  /**
   * When the snapshot was taken on the host's timeline (the orchestration's clock): the recovery
   * point's time. The adapter's `set.takenAt` is its own wall clock, which a fast-forwarded host does not move.
   */
  readonly takenAt: string;
}

/** One disk's plan, with the snapshot its segments read. */
export interface PlannedDisk {
  readonly disk: VmDisk;
  readonly snapshot: DiskSnapshot;
  readonly plan: DiskBackupPlan;
  /** How the ranges were found: change tracking, the disk's valid ranges, or a full read. */
  readonly rangesFrom: 'changeTracking' | 'validRanges' | 'fullRead';
}

export interface SegmentDone {
  readonly bytesRead: number;
  readonly bytesNewStored: number;
}

export interface CommittedBackup {
  readonly recoveryPointId: string;
  readonly recoveryPointType: 'Full' | 'Incremental';
  readonly bytesNewStored: number;
  readonly bytesRead: number;
  readonly sizeBytes: number;
}

export type RestoreTarget =
  | { readonly restoreType: 'NewVm'; readonly vmName: string }
  | { readonly restoreType: 'ReplaceDisks' }
  | { readonly restoreType: 'RestoreDisks'; readonly containerName: string };

export interface RestoreInput extends ItemRef {
  readonly jobId: string;
  readonly recoveryPointId: string;
  readonly target: RestoreTarget;
}

export interface PreparedRestore {
  readonly disks: readonly PointDisk[];
  readonly osType: OsType;
  readonly region: string;
  /** The VM the point was taken from (ReplaceDisks targets it). */
  readonly sourceVmId: string;
}

export interface RestoreDiskWork {
  readonly target: ProvisionedDisk;
  readonly vaultPointId: string;
}

export interface RestoreSegment {
  readonly diskIndex: number;
  readonly offset: number;
  readonly length: number;
}
