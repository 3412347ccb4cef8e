// The steps of a restore, each one activity of the restore orchestration (functions/vm/
// restoreVm.orchestrator.ts), each safe to run twice:
//   prepare   the point must exist; the target must be valid (new VM name free, original VM present)
//   disks     create one empty disk per point disk, named after the job (a re-run finds them)
//   segment   restore one range of one disk (fan-out; the target reads as zeros, so holes are skipped)
//   finish    build the new VM from the disks, or swap them into the original VM, or leave them
import { hasErrorCode } from '../errors';
import type { Vm } from '../inventory/inventory';
import { INVENTORY_ERROR_CODES } from '../inventory/inventoryErrors';
import type { ProvisionedDisk } from '../inventory/vmProvisioner';
import { restoreDisk, VAULT_ERROR_CODES } from '../vault';
import type { VmDeps } from './vmDeps';
import { fail, ok, type Outcome } from './vmErrors';
import { MAX_RESTORE_SEGMENT_BYTES } from './vmLimits';
import type { PointDisk } from './vmStateStore';
import type { PreparedRestore, RestoreInput, RestoreSegment } from './vmWorkflowTypes';

const VM_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9](?:-?[a-z0-9])*$/;

function pointDisksOf(doc: { readonly [field: string]: unknown }): PointDisk[] | undefined {
  return Array.isArray(doc.disks) ? (doc.disks as PointDisk[]) : undefined;
}

export async function prepareRestore(deps: VmDeps, input: RestoreInput): Promise<Outcome<PreparedRestore>> {
  // The API refuses a soft-deleted item; this catches one soft deleted while the restore was queued.
  try {
    const { doc } = await deps.cp.items.read(input.sub, input.vault, input.item);
    if (doc.protectionState === 'SoftDeleted')
      return fail('ItemSoftDeleted', `Item ${doc.name} was soft deleted before the restore could start`);
  } catch (err) {
    if (!hasErrorCode(err, 'ProtectedItemNotFound')) throw err;
  }
  let point;
  try {
    point = await deps.cp.recoveryPoints.read(input.sub, input.vault, input.item, input.recoveryPointId);
  } catch (err) {
    if (hasErrorCode(err, 'RecoveryPointNotFound'))
      return fail('RecoveryPointNotFound', `Recovery point ${input.recoveryPointId} does not exist`);
    throw err;
  }
  const disks = pointDisksOf(point);
  if (!disks || disks.length === 0) return fail('InternalError', `Recovery point ${point.id} lists no disks`);
  const sourceVmId = typeof point.vmId === 'string' ? point.vmId : '';
  const t = input.target;
  if (t.restoreType === 'NewVm') {
    if (!VM_NAME.test(t.vmName))
      return fail(
        'InvalidRestoreTarget',
        `VM name must be 1-63 lower-case letters, digits or hyphens: ${t.vmName}`,
      );
    const exists = await deps.platform.getVm(t.vmName).then(
      () => true,
      (err: unknown) => {
        if (hasErrorCode(err, INVENTORY_ERROR_CODES.VM_NOT_FOUND)) return false;
        throw err;
      },
    );
    // A VM of that name made by this very job (a re-run after the finish step) is not a conflict.
    if (exists && !(await isOurVm(deps, t.vmName, input.jobId)))
      return fail('RestoreTargetExists', `A VM named ${t.vmName} already exists`);
  } else if (t.restoreType === 'ReplaceDisks') {
    const found = await deps.platform.getVm(sourceVmId).then(
      () => true,
      (err: unknown) => {
        if (hasErrorCode(err, INVENTORY_ERROR_CODES.VM_NOT_FOUND)) return false;
        throw err;
      },
    );
    if (!found) return fail('OriginalVmNotFound', `The original VM ${sourceVmId} no longer exists`);
  } else if (!CONTAINER_NAME.test(t.containerName)) {
    return fail(
      'InvalidRestoreTarget',
      `Container name must be 3-63 lower-case letters, digits and single hyphens: ${t.containerName}`,
    );
  }
  return ok({
    disks,
    osType: point.osType === 'windows' ? 'windows' : 'linux',
    region: typeof point.region === 'string' ? point.region : '',
    sourceVmId,
  });
}

/** Restored disk names carry the job id, so a re-run finds the disks it created. */
export function restoredDiskName(input: RestoreInput, disk: PointDisk, index: number): string {
  const job = input.jobId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(-12);
  const base =
    input.target.restoreType === 'NewVm'
      ? input.target.vmName
      : input.item
          .toLowerCase()
          .replace(/[^a-z0-9-]/g, '-')
          .slice(0, 100);
  const slot = disk.role === 'os' ? 'osdisk' : `data${disk.lun ?? index}`;
  return `${base}-${slot}-r${job}`;
}

async function isOurVm(deps: VmDeps, vmName: string, jobId: string): Promise<boolean> {
  const vm: Vm = await deps.platform.getVm(vmName);
  const job = jobId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(-12);
  return vm.disks.length > 0 && vm.disks.every((d) => d.diskId.endsWith(`-r${job}`));
}

export async function createRestoreDisks(
  deps: VmDeps,
  input: RestoreInput,
  prepared: PreparedRestore,
): Promise<Outcome<ProvisionedDisk[]>> {
  const out: ProvisionedDisk[] = [];
  for (const [i, d] of prepared.disks.entries()) {
    try {
      out.push(
        await deps.platform.createDisk({
          name: restoredDiskName(input, d, i),
          sizeBytes: d.sizeBytes,
          role: d.role,
          lun: d.lun ?? undefined,
          ...(input.target.restoreType === 'RestoreDisks' ? { container: input.target.containerName } : {}),
        }),
      );
    } catch (err) {
      // The disks made so far would belong to nothing: delete them (best effort) before failing.
      await abandonRestore(deps, out).catch(() => undefined);
      if (hasErrorCode(err, INVENTORY_ERROR_CODES.INVALID_ARGUMENT))
        return fail('InvalidRestoreTarget', (err as Error).message);
      throw err;
    }
  }
  return ok(out);
}

/** Cuts every disk into block-aligned pieces of at most MAX_RESTORE_SEGMENT_BYTES. */
export function restoreSegmentsOf(
  disks: readonly { sizeBytes: number }[],
  maxBytes = MAX_RESTORE_SEGMENT_BYTES,
): RestoreSegment[] {
  const out: RestoreSegment[] = [];
  disks.forEach((d, diskIndex) => {
    for (let offset = 0; offset < d.sizeBytes; offset += maxBytes) {
      out.push({ diskIndex, offset, length: Math.min(maxBytes, d.sizeBytes - offset) });
    }
  });
  return out;
}

export async function restoreSegment(
  deps: VmDeps,
  input: RestoreInput,
  target: ProvisionedDisk,
  vaultPointId: string,
  range: { offset: number; length: number },
): Promise<Outcome<{ bytesWritten: number }>> {
  const writer = { write: (offset: number, data: Buffer) => deps.platform.writeDisk(target, offset, data) };
  for (let attempt = 0; ; attempt++) {
    // The cached reader may predate a prune in another process; a missing block means "open again".
    const vault = await deps.dataPlane.openForRead(input.sub, input.vault, { fresh: attempt > 0 });
    try {
      const r = await restoreDisk(vault, vaultPointId, writer, { range });
      return ok({ bytesWritten: r.bytesWritten });
    } catch (err) {
      const stale =
        hasErrorCode(err, VAULT_ERROR_CODES.BLOCK_MISSING) ||
        hasErrorCode(err, VAULT_ERROR_CODES.POINT_NOT_FOUND);
      if (stale && attempt === 0) continue;
      if (hasErrorCode(err, VAULT_ERROR_CODES.POINT_NOT_FOUND))
        return fail('RecoveryPointNotFound', `The data of recovery point ${input.recoveryPointId} is gone`);
      throw err;
    }
  }
}

export async function finishRestore(
  deps: VmDeps,
  input: RestoreInput,
  prepared: PreparedRestore,
  disks: ProvisionedDisk[],
): Promise<Outcome<{ vmId?: string; vmName?: string; disks: string[] }>> {
  const t = input.target;
  const names = disks.map((d) => `${d.location}/${d.diskId}`);
  if (t.restoreType === 'NewVm') {
    try {
      const vm = await deps.platform.createVmFromDisks({
        name: t.vmName,
        osType: prepared.osType,
        region: prepared.region,
        disks,
      });
      return ok({ vmId: vm.id, vmName: vm.name, disks: names });
    } catch (err) {
      if (!hasErrorCode(err, INVENTORY_ERROR_CODES.VM_ALREADY_EXISTS)) throw err;
      if (!(await isOurVm(deps, t.vmName, input.jobId)))
        return fail('RestoreTargetExists', `A VM named ${t.vmName} was created meanwhile`);
      const vm = await deps.platform.getVm(t.vmName);
      return ok({ vmId: vm.id, vmName: vm.name, disks: names });
    }
  }
  if (t.restoreType === 'ReplaceDisks') {
    try {
      const { vm } = await deps.platform.replaceDisks(prepared.sourceVmId, disks);
      return ok({ vmId: vm.id, vmName: vm.name, disks: names });
    } catch (err) {
      if (hasErrorCode(err, INVENTORY_ERROR_CODES.VM_NOT_FOUND))
        return fail(
          'OriginalVmNotFound',
          `The original VM ${prepared.sourceVmId} was deleted during the restore`,
        );
      throw err;
    }
  }
  return ok({ disks: names });
}

/**
 * A restore that failed or was cancelled before finishRestore used its disks: they hold part of a
 * disk and belong to no VM, so they are deleted rather than left for the admin to find. (After
 * finishRestore they are the restored VM's, or the swapped-in disks, and stay.)
 */
export async function abandonRestore(deps: VmDeps, disks: ProvisionedDisk[]): Promise<{ deleted: number }> {
  for (const d of disks) await deps.platform.deleteDisk(d);
  return { deleted: disks.length };
}
