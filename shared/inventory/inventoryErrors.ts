// Errors of the Inventory, ChangeTracker and DiskSnapshotReader ports. Every adapter (local fabric,
// ARM) translates its SDK's errors into these codes at its edge. Branch on `code`: classes do not
// survive a Durable Functions boundary (STYLE.md §4).
import { StrongboxError, type StrongboxErrorOptions } from '../errors';

export const INVENTORY_ERROR_CODES = {
  VM_NOT_FOUND: 'INVENTORY.VM_NOT_FOUND',
  VM_ALREADY_EXISTS: 'INVENTORY.VM_ALREADY_EXISTS',
  DISK_NOT_FOUND: 'INVENTORY.DISK_NOT_FOUND',
  SNAPSHOT_NOT_FOUND: 'INVENTORY.SNAPSHOT_NOT_FOUND',
  VM_NOT_RUNNING: 'INVENTORY.VM_NOT_RUNNING',
  VM_FROZEN: 'INVENTORY.VM_FROZEN',
  INVALID_ARGUMENT: 'INVENTORY.INVALID_ARGUMENT',
  INVALID_RANGE: 'INVENTORY.INVALID_RANGE',
  /** Worth retrying: throttling, a lease held by a concurrent snapshot, a dropped connection. */
  TRANSIENT: 'INVENTORY.TRANSIENT',
  FAILED: 'INVENTORY.FAILED',
} as const;

export type InventoryErrorCode = (typeof INVENTORY_ERROR_CODES)[keyof typeof INVENTORY_ERROR_CODES];

/** Codes of expected guest-agent outcomes, returned (not thrown) by freeze and installBackupExtension. */
export const GUEST_OUTCOME_CODES = {
  AGENT_MISSING: 'INVENTORY.AGENT_MISSING',
  AGENT_OUTDATED: 'INVENTORY.AGENT_OUTDATED',
  AGENT_NOT_READY: 'INVENTORY.AGENT_NOT_READY',
  EXTENSION_MISSING: 'INVENTORY.EXTENSION_MISSING',
  FREEZE_FAILED: 'INVENTORY.FREEZE_FAILED',
  VM_NOT_RUNNING: 'INVENTORY.VM_NOT_RUNNING',
  NOT_SUPPORTED: 'INVENTORY.NOT_SUPPORTED',
} as const;

export type GuestOutcomeCode = (typeof GUEST_OUTCOME_CODES)[keyof typeof GUEST_OUTCOME_CODES];

export class InventoryError extends StrongboxError {
  constructor(code: InventoryErrorCode, message: string, options: StrongboxErrorOptions = {}) {
    super(code, message, options);
  }
}
