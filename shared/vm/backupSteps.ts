// The steps of a VM backup, each one activity of the backup orchestration (functions/vm/
// backupVm.orchestrator.ts), each safe to run twice:
//   prepare   the item must be protected and its VM must exist; find the parent (last point + snapshot)
//   snapshot  freeze the guest, snapshot every disk together, thaw; decide the point's consistency
//   plan      per disk: which ranges changed since the parent snapshot (change tracking), or which are
//             written at all (first backup), cut into segments (shared/vault planDiskBackup)
//   segment   back up one segment (fan-out; each < 2 minutes)
//   commit    commit each disk's data-plane point, THEN the control-plane recovery point (last), then
//             remember the snapshot for the next incremental
//   release   release the older snapshot (after commit) or the new one (after a failure)
import { createHash } from 'node:crypto';
import { uuidV7 } from '../controlPlane/controlPlanePorts';
import { hasErrorCode } from '../errors';
import type { ByteRange } from '../inventory/byteRanges';
import type { ChangedRangesAnswer } from '../inventory/changeTracker';
import type { GuestOutcome, Vm, VmSnapshotSet } from '../inventory/inventory';
import { INVENTORY_ERROR_CODES } from '../inventory/inventoryErrors';
import { ADHOC_DEFAULT_RETENTION_DAYS } from '../policy/policyLimits';
import {
  backupDiskSegment,
  commitDiskBackup,
  planDiskBackup,
  pointIdOfPlan,
  type DiskBackupPlan,
} from '../vault';
import { clockFrom, withTimeout } from './hostTime';
import { consistencyOf, needsFreeze } from './snapshotConsistency';
import type { VmDeps } from './vmDeps';
import { fail, ok, type Outcome } from './vmErrors';
import {
  FREEZE_TIMEOUT_MS,
  MAX_SEGMENT_BYTES,
  MIN_SEGMENT_BYTES,
  SEGMENTS_PER_DISK_TARGET,
  SNAPSHOT_TIMEOUT_MS,
} from './vmLimits';
import type { PointDisk } from './vmStateStore';
import type {
  BackupInput,
  BackupParent,
  CommittedBackup,
  PlannedDisk,
  PreparedBackup,
  SegmentDone,
  TakenSnapshot,
} from './vmWorkflowTypes';

const PROTECTED_STATES = new Set(['ProtectedInitialBackupPending', 'Protected', 'Error']);
const DAY_MS = 86_400_000;

/** Segment size for a disk: about SEGMENTS_PER_DISK_TARGET segments, within [MIN, MAX], whole MiB. */
export function segmentBytesFor(diskBytes: number): number {
  const MiB = 1024 * 1024;
  const target = Math.floor(diskBytes / SEGMENTS_PER_DISK_TARGET / MiB) * MiB;
  return Math.min(MAX_SEGMENT_BYTES, Math.max(MIN_SEGMENT_BYTES, target));
}

/** The control-plane id of the point a backup instance makes: time-ordered, and the same on a re-run. */
export function recoveryPointIdFor(instanceId: string, takenAt: string): string {
  return uuidV7(new Date(takenAt), createHash('sha256').update(`vm-point:${instanceId}`).digest());
}

export async function prepareBackup(deps: VmDeps, input: BackupInput): Promise<Outcome<PreparedBackup>> {
  const { doc } = await deps.cp.items.read(input.sub, input.vault, input.item);
  if (!PROTECTED_STATES.has(doc.protectionState)) {
    return fail('ItemNotProtected', `Item ${doc.name} is ${doc.protectionState}`);
  }
  let vm: Vm;
  try {
    vm = await deps.platform.getVm(doc.sourceId);
  } catch (err) {
    if (hasErrorCode(err, INVENTORY_ERROR_CODES.VM_NOT_FOUND))
      return fail('VmDeleted', `The VM ${doc.sourceId} of item ${doc.name} no longer exists`);
    throw err;
  }
  const last = await deps.state.getLastBackup(input.sub, input.vault, input.item);
  const parent: BackupParent | undefined = last
    ? { recoveryPointId: last.recoveryPointId, snapshotSet: last.snapshotSet, disks: last.disks }
    : undefined;
  return ok({
    source: {
      vmId: vm.id,
      vmName: vm.name,
      osType: vm.osType,
      region: vm.region,
      powerState: vm.powerState,
      disks: vm.disks,
    },
    ...(parent ? { parent } : {}),
  });
}

/** Freeze → snapshot all disks → thaw, in one activity so a crash can never leave a guest frozen long. */
export async function takeSnapshot(
  deps: VmDeps,
  vmId: string,
  nowIso: string,
  /** The backup's job id: a repeated call replaces this set's snapshots instead of adding more. */
  setId?: string,
): Promise<Outcome<TakenSnapshot>> {
  const now = clockFrom(nowIso);
  let vm: Vm;
  try {
    vm = await deps.platform.getVm(vmId);
  } catch (err) {
    if (hasErrorCode(err, INVENTORY_ERROR_CODES.VM_NOT_FOUND))
      return fail('VmDeleted', `The VM ${vmId} no longer exists`);
    throw err;
  }
  let freeze: GuestOutcome | 'timeout' | undefined;
  let frozen = false;
  try {
    if (needsFreeze(vm.powerState)) {
      freeze = await withTimeout(deps.platform.freeze(vm.id), FREEZE_TIMEOUT_MS);
      frozen = freeze !== 'timeout' && freeze.ok;
    }
    const consistency = consistencyOf(vm.powerState, freeze, vm.name);
    if (!consistency.ok) return consistency;
    let set: VmSnapshotSet | 'timeout';
    const takenAt = now().toISOString();
    try {
      set = await withTimeout(deps.platform.snapshotVm(vm.id, setId), SNAPSHOT_TIMEOUT_MS);
    } catch (err) {
      if (hasErrorCode(err, INVENTORY_ERROR_CODES.VM_NOT_FOUND))
        return fail('VmDeleted', `The VM ${vm.name} no longer exists`);
      throw err;
    }
    if (set === 'timeout') {
      return fail(
        'SnapshotTimedOut',
        `The snapshot of VM ${vm.name} did not complete within ${SNAPSHOT_TIMEOUT_MS / 1000} s`,
      );
    }
    return ok({ set, consistency: consistency.value, takenAt });
  } finally {
    // Thaw even when the freeze timed out: the guest may have frozen late.
    if (frozen || freeze === 'timeout') await deps.platform.thaw(vm.id).catch(() => undefined);
  }
}

async function rangesFor(
  deps: VmDeps,
  snap: PlannedDisk['snapshot'],
  prev: PlannedDisk['snapshot'] | undefined,
  parentDisk: PointDisk | undefined,
): Promise<{ ranges: readonly ByteRange[] | 'unknown'; from: PlannedDisk['rangesFrom'] }> {
  if (!parentDisk) return { ranges: await deps.platform.validRanges(snap), from: 'validRanges' };
  if (!prev) return { ranges: 'unknown', from: 'fullRead' };
  let answer: ChangedRangesAnswer;
  try {
    answer = await deps.platform.changedRanges(snap.diskId, prev, snap);
  } catch (err) {
    // The previous snapshot is gone (released, or the disk was replaced): read it all, dedup keeps it small.
    if (hasErrorCode(err, INVENTORY_ERROR_CODES.TRANSIENT)) throw err;
    answer = 'unknown';
  }
  return answer === 'unknown'
    ? { ranges: 'unknown', from: 'fullRead' }
    : { ranges: answer, from: 'changeTracking' };
}

export async function planDisks(
  deps: VmDeps,
  input: BackupInput,
  prepared: PreparedBackup,
  taken: TakenSnapshot,
): Promise<Outcome<PlannedDisk[]>> {
  const vault = await deps.dataPlane.openForBackup(input.sub, input.vault);
  const out: PlannedDisk[] = [];
  for (const [i, snap] of taken.set.disks.entries()) {
    const disk = prepared.source.disks.find((d) => d.diskId === snap.diskId);
    if (!disk) return fail('InternalError', `snapshot of unknown disk ${snap.diskId}`);
    // The parent is the same disk slot (OS disk, or data disk at the same LUN) of the same size: a
    // replaced disk (restore) has a new id but still deduplicates against its predecessor.
    const parentDisk = prepared.parent?.disks.find(
      (d) => d.role === disk.role && (d.lun ?? undefined) === disk.lun && d.sizeBytes === disk.sizeBytes,
    );
    const prev = parentDisk
      ? prepared.parent?.snapshotSet.disks.find((d) => d.diskId === snap.diskId)
      : undefined;
    const { ranges, from } = await rangesFor(deps, snap, prev, parentDisk);
    const plan = await planDiskBackup(vault, {
      // Stable across re-runs of this activity: the same job and disk plan the same session.
      planId: `${input.jobId}:disk${i}`,
      diskName: disk.name,
      sizeBytes: snap.sizeBytes,
      ...(parentDisk ? { parentPointId: parentDisk.vaultPointId } : {}),
      ranges,
      maxSegmentBytes: segmentBytesFor(snap.sizeBytes),
    });
    out.push({ disk, snapshot: snap, plan, rangesFrom: from });
  }
  return ok(out);
}

export async function backupSegment(
  deps: VmDeps,
  input: BackupInput,
  disk: PlannedDisk,
  index: number,
  nowIso: string,
): Promise<Outcome<SegmentDone>> {
  const vault = await deps.dataPlane.openForBackup(input.sub, input.vault);
  const reader = {
    read: (offset: number, length: number) => deps.platform.readRange(disk.snapshot, offset, length),
  };
  try {
    const r = await backupDiskSegment(vault, disk.plan, index, reader, { now: clockFrom(nowIso) });
    return ok({ bytesRead: r.bytesRead, bytesNewStored: r.bytesNewStored });
  } catch (err) {
    if (
      hasErrorCode(err, INVENTORY_ERROR_CODES.SNAPSHOT_NOT_FOUND) ||
      hasErrorCode(err, INVENTORY_ERROR_CODES.DISK_NOT_FOUND)
    ) {
      return fail('VmDeleted', `The snapshot of disk ${disk.disk.name} is gone (the VM or disk was deleted)`);
    }
    throw err;
  }
}

export interface CommitInput {
  readonly input: BackupInput;
  readonly instanceId: string;
  readonly prepared: PreparedBackup;
  readonly taken: TakenSnapshot;
  readonly disks: readonly PlannedDisk[];
  readonly nowIso: string;
}

export async function commitBackup(deps: VmDeps, c: CommitInput): Promise<Outcome<CommittedBackup>> {
  const { input } = c;
  const vault = await deps.dataPlane.openForBackup(input.sub, input.vault);
  const now = clockFrom(c.nowIso);
  const pointDisks: PointDisk[] = [];
  let bytesNewStored = 0;
  let bytesRead = 0;
  // 1. The data-plane point of every disk (each written last within its own disk's objects).
  for (const d of c.disks) {
    const r = await commitDiskBackup(vault, d.plan, {
      meta: { vmId: c.prepared.source.vmId, item: input.item, disk: d.disk.name, job: input.jobId },
      now,
    });
    bytesNewStored += r.bytesNewStored;
    bytesRead += r.bytesRead;
    pointDisks.push({
      diskId: d.disk.diskId,
      name: d.disk.name,
      role: d.disk.role,
      lun: d.disk.lun ?? null,
      sizeBytes: d.snapshot.sizeBytes,
      vaultPointId: r.pointId,
    });
  }
  // 2. The control-plane recovery point, LAST: only now can anyone see (and restore) the point.
  const takenAt = c.taken.takenAt;
  const recoveryPointId = recoveryPointIdFor(c.instanceId, takenAt);
  const type = c.disks.some((d) => d.plan.parentPointId !== undefined) ? 'Incremental' : 'Full';
  const sizeBytes = pointDisks.reduce((n, d) => n + d.sizeBytes, 0);
  const retainUntil =
    input.trigger === 'adhoc'
      ? (input.retainUntil ??
        new Date(Date.parse(takenAt) + ADHOC_DEFAULT_RETENTION_DAYS * DAY_MS).toISOString())
      : undefined;
  await deps.cp.recoveryPoints.add(
    input.sub,
    input.vault,
    input.item,
    {
      recoveryPointTime: takenAt,
      recoveryPointType: type,
      consistency: c.taken.consistency,
      sizeBytes,
      manifestRef: pointDisks.map((d) => `points/${d.vaultPointId}`).join(','),
    },
    {
      id: recoveryPointId,
      extra: {
        pointKind: input.trigger,
        ...(retainUntil !== undefined ? { retainUntil } : {}),
        ...(input.scheduledTime !== undefined ? { scheduledTime: input.scheduledTime } : {}),
        vmId: c.prepared.source.vmId,
        osType: c.prepared.source.osType,
        region: c.prepared.source.region,
        disks: pointDisks,
      },
    },
  );
  const item = await deps.cp.items.read(input.sub, input.vault, input.item);
  if (item.doc.lastBackupTime === undefined || item.doc.lastBackupTime < takenAt) {
    await deps.cp.items.apply(input.sub, input.vault, input.item, { kind: 'backupSucceeded', at: takenAt });
  }
  // 3. The new snapshot becomes the base of the next incremental.
  await deps.state.putLastBackup(input.sub, input.vault, input.item, {
    vmId: c.prepared.source.vmId,
    recoveryPointId,
    pointTime: takenAt,
    snapshotSet: c.taken.set,
    disks: pointDisks,
  });
  return ok({ recoveryPointId, recoveryPointType: type, bytesNewStored, bytesRead, sizeBytes });
}

export async function releaseSnapshots(deps: VmDeps, set: VmSnapshotSet): Promise<void> {
  try {
    await deps.platform.releaseSnapshots(set);
  } catch (err) {
    // The VM (and its snapshots) may be gone; anything else is worth a retry.
    if (
      !hasErrorCode(err, INVENTORY_ERROR_CODES.VM_NOT_FOUND) &&
      !hasErrorCode(err, INVENTORY_ERROR_CODES.DISK_NOT_FOUND)
    )
      throw err;
  }
}

/**
 * After a failed backup: data-plane points its commit may already have written (a commit that
 * failed half-way) become tombstones, so garbage collection removes them; nothing references them.
 */
export async function abandonBackup(
  deps: VmDeps,
  input: BackupInput,
  plans: readonly DiskBackupPlan[],
  nowIso: string,
): Promise<void> {
  if (plans.length === 0) return;
  const vault = await deps.dataPlane.openForBackup(input.sub, input.vault);
  await deps.state.addTombstones(
    input.sub,
    input.vault,
    plans.map((p) => ({
      vaultPointId: pointIdOfPlan(vault, p),
      itemName: input.item,
      recoveryPointId: '',
      at: nowIso,
    })),
  );
}

/** Marks the item failed (state Error with the code), unless it is no longer protected. */
export async function markItemFailed(
  deps: VmDeps,
  input: BackupInput,
  error: { code: string; message: string },
): Promise<void> {
  const { doc } = await deps.cp.items.read(input.sub, input.vault, input.item);
  if (!PROTECTED_STATES.has(doc.protectionState)) return;
  await deps.cp.items.apply(input.sub, input.vault, input.item, { kind: 'failed', error });
}
