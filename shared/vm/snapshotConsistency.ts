// Which consistency a VM snapshot gets, from the VM's state and the guest's answer to "freeze" (Azure
// Backup's snapshot consistency rules): pure, so the rule is one table and its tests.
//   VM not running                         -> crash-consistent (nothing to freeze; the disks are at rest)
//   freeze succeeded                       -> application-consistent (VSS writers / pre-post scripts ran)
//   freeze failed (fsfreeze on Linux, VSS) -> file-system-consistent (the snapshot is still taken)
//   agent missing / too old / no extension -> the backup fails: ExtensionFailed
//   the freeze call timed out              -> the backup fails: SnapshotTimedOut (agent or network)
import type { GuestOutcome, PowerState } from '../inventory/inventory';
import { GUEST_OUTCOME_CODES } from '../inventory/inventoryErrors';
import type { CONSISTENCY_TYPES } from '../controlPlane/recoveryPointService';
import { fail, ok, type Outcome } from './vmErrors';

export type Consistency = (typeof CONSISTENCY_TYPES)[number];

/** Whether to ask the guest to freeze at all. */
export function needsFreeze(power: PowerState): boolean {
  return power === 'running';
}

/** `freeze` is the guest's answer, or 'timeout' if it did not answer in time. */
export function consistencyOf(
  power: PowerState,
  freeze: GuestOutcome | 'timeout' | undefined,
  vmName: string,
): Outcome<Consistency> {
  if (!needsFreeze(power)) return ok('CrashConsistent');
  if (freeze === undefined || freeze === 'timeout') {
    return fail(
      'SnapshotTimedOut',
      `The guest agent of VM ${vmName} did not answer the freeze request in time`,
    );
  }
  if (freeze.ok) return ok('ApplicationConsistent');
  switch (freeze.code) {
    case GUEST_OUTCOME_CODES.FREEZE_FAILED:
      return ok('FileSystemConsistent');
    // The VM stopped between the power check and the freeze: its disks are at rest.
    case GUEST_OUTCOME_CODES.VM_NOT_RUNNING:
      return ok('CrashConsistent');
    case GUEST_OUTCOME_CODES.AGENT_NOT_READY:
      return fail('SnapshotTimedOut', `The guest agent of VM ${vmName} is not answering: ${freeze.reason}`);
    case GUEST_OUTCOME_CODES.NOT_SUPPORTED:
      // The platform cannot freeze (the ARM adapter today): the snapshot is crash-consistent as a set.
      return ok('CrashConsistent');
    default:
      return fail(
        'ExtensionFailed',
        `The backup extension of VM ${vmName} could not freeze it: ${freeze.reason}`,
      );
  }
}
