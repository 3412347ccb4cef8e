// Failure codes of the VM workflows, as jobs report them (`job.error.code`) and activities return them
// (`{ ok: false, code, message }`; STYLE.md §4: a thrown Error's class does not survive the durable
// boundary). They are public: never rename or reuse one. Each message says what to do about it.
// Codes the HTTP API answers synchronously are in shared/controlPlane/workflowErrorCodes.ts.

export const VM_JOB_ERROR_CODES = [
  // register
  'VmNotRunning',
  'GuestAgentMissing',
  'GuestAgentOutdated',
  'TooManyDataDisks',
  'OperationInProgress',
  'ExtensionFailed',
  // backup
  'SnapshotTimedOut',
  'CopyTimedOut',
  'VmDeleted',
  'ItemNotProtected',
  // restore
  'RecoveryPointNotFound',
  'RestoreTargetExists',
  'OriginalVmNotFound',
  'InvalidRestoreTarget',
  // backup and restore: the vault's key-encryption key cannot be used
  'VaultKeyUnavailable',
  // scheduled backups whose times passed while the service was down, beyond the catch-up window
  'BackupMissed',
  // delete backup data in a vault made immutable after the request was accepted
  'BlockedByImmutableVault',
  // restore of an item soft deleted after the request was accepted
  'ItemSoftDeleted',
  // scheduled verify: the vault's data failed the check (docs/verify.md)
  'VerifyFoundDamage',
  // any step that failed for an unexpected reason (the message has the detail)
  'InternalError',
] as const;
export type VmJobErrorCode = (typeof VM_JOB_ERROR_CODES)[number];

/** What an activity returns: a value, or an expected failure the orchestration turns into a job error. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: VmJobErrorCode; readonly message: string };

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: VmJobErrorCode, message: string): Outcome<T> {
  return { ok: false, code, message };
}

/** Remediation texts, one per code, so every job error tells the admin what to do. */
export const REMEDIATION: Readonly<Record<VmJobErrorCode, string>> = {
  VmNotRunning:
    'Start the VM and register it again: the backup extension can only be installed in a running VM.',
  GuestAgentMissing:
    'Install the VM guest agent (it is required for the backup extension) and register the VM again.',
  GuestAgentOutdated: 'Update the VM guest agent to the minimum supported version and register the VM again.',
  TooManyDataDisks:
    'Detach data disks until the VM has no more than the supported number, or exclude the VM from backup.',
  OperationInProgress: 'Another operation on this item is in progress. Wait for it to finish and retry.',
  ExtensionFailed:
    'The backup extension failed in the VM. Check the guest agent and the extension status, then retry.',
  SnapshotTimedOut:
    'The snapshot did not complete in time: the guest agent or the network did not answer. Check the agent and connectivity, then retry.',
  CopyTimedOut:
    'Copying the data to the vault took too long (too much changed data for one backup). Retry; the next backup continues from the last recovery point.',
  VmDeleted:
    'The VM no longer exists. Stop protection and keep the backup data to be able to restore it later.',
  ItemNotProtected: 'The item is not protected. Configure protection before backing it up.',
  RecoveryPointNotFound: 'The recovery point does not exist (it may have expired). Choose another one.',
  RestoreTargetExists: 'A VM with the target name already exists. Choose another name.',
  OriginalVmNotFound:
    'The original VM no longer exists, so its disks cannot be replaced. Restore as a new VM or as disks instead.',
  InvalidRestoreTarget: 'The restore target is not valid. Check the name and retry.',
  BlockedByImmutableVault:
    'The vault is immutable: backup data cannot be deleted. Disable immutability on the vault (not possible once Locked) and retry.',
  ItemSoftDeleted:
    'The item was soft deleted while the restore waited for its turn. Undelete it (POST .../undelete) and restore again.',
  BackupMissed:
    'The service was not running at these scheduled times, and they are older than the one day it catches up. Back up now if you need a recovery point; the schedule goes on.',
  VaultKeyUnavailable:
    "The vault's key could not be unwrapped. In Azure, give the app's identity wrapKey and unwrapKey on the Key Vault key (role Key Vault Crypto Service Encryption User) and check that the key and its version exist; locally, check the key file. Then retry.",
  VerifyFoundDamage:
    'The recovery points named may not restore until the damage is healed: the broken blocks are quarantined, and the next backup of each item named stores them again from the VM if its disk still holds the same data (docs/verify.md, "Self-healing"). Back up those items now, then verify again; restore from a point not named here if you need one meanwhile.',
  InternalError:
    'The operation failed unexpectedly. Retry; if it fails again, contact support with the job id.',
};

/** A job error with the remediation appended: `<what happened>. <what to do>`. */
export function jobError(code: VmJobErrorCode, detail: string): { code: VmJobErrorCode; message: string } {
  const d = detail.trim().replace(/\.$/, '');
  return { code, message: `${d}. ${REMEDIATION[code]}` };
}

/**
 * KEY.* errors that retrying will not cure: the wrong key, a key that is gone, access that is not
 * granted, a broken envelope. An activity returns them as VaultKeyUnavailable instead of throwing, so
 * the job fails at once with a remedy rather than after the activity's retries as InternalError.
 */
const PERMANENT_KEY_ERRORS: ReadonlySet<string> = new Set([
  'KEY.ACCESS_DENIED',
  'KEY.KEK_NOT_FOUND',
  'KEY.UNWRAP_FAILED',
  'KEY.INVALID_WRAPPED_KEY',
  'KEY.KEK_UNUSABLE',
]);

/** Runs an Outcome-returning step; a permanent key failure becomes a VaultKeyUnavailable outcome. */
export async function keyFailuresAsOutcome<T>(step: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
  try {
    return await step();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && PERMANENT_KEY_ERRORS.has(code)) {
      return fail('VaultKeyUnavailable', `${code}: ${(err as Error).message}`);
    }
    throw err;
  }
}
