// Register: attach the backup extension to a discovered VM and make it an item of the vault (state
// Registered). The orchestration has taken the item's turn (refusing with OperationInProgress if
// another operation holds it); this step checks the VM as it is now, not as discovery saw it.
import { hasErrorCode } from '../errors';
import type { Vm } from '../inventory/inventory';
import { GUEST_OUTCOME_CODES, INVENTORY_ERROR_CODES } from '../inventory/inventoryErrors';
import { checkRegisterEligibility } from './registerEligibility';
import type { VmDeps } from './vmDeps';
import { fail, ok, type Outcome } from './vmErrors';

export async function registerVm(
  deps: VmDeps,
  sub: string,
  vault: string,
  vmName: string,
): Promise<Outcome<{ itemName: string; vmId: string }>> {
  const discovered = await deps.state.getDiscovered(sub, vault, vmName);
  if (!discovered) return fail('InternalError', `VM ${vmName} is not among the vault's discovered VMs`);
  let vm: Vm;
  try {
    vm = await deps.platform.getVm(discovered.vmId);
  } catch (err) {
    if (hasErrorCode(err, INVENTORY_ERROR_CODES.VM_NOT_FOUND))
      return fail('VmDeleted', `VM ${vmName} no longer exists`);
    throw err;
  }
  const eligible = checkRegisterEligibility(vm, { maxDataDisks: deps.maxDataDisks });
  if (!eligible.ok) return eligible;
  const ext = await deps.platform.installBackupExtension(vm.id);
  if (!ext.ok) {
    // The agent changed between the check and the install: report it as the check would have.
    if (ext.code === GUEST_OUTCOME_CODES.VM_NOT_RUNNING) return fail('VmNotRunning', ext.reason);
    if (ext.code === GUEST_OUTCOME_CODES.AGENT_MISSING) return fail('GuestAgentMissing', ext.reason);
    if (ext.code === GUEST_OUTCOME_CODES.AGENT_OUTDATED) return fail('GuestAgentOutdated', ext.reason);
    return fail('ExtensionFailed', `Installing the backup extension failed: ${ext.reason}`);
  }
  try {
    await deps.cp.items.register(sub, vault, { name: vm.name, sourceId: vm.id, friendlyName: vm.name });
  } catch (err) {
    // A re-run of this step (activities run at least once) finds its own registration.
    if (!hasErrorCode(err, 'ResourceAlreadyExists')) throw err;
    const existing = await deps.cp.items.read(sub, vault, vm.name);
    if (existing.doc.sourceId !== vm.id)
      return fail('InternalError', `Another VM is already registered as item ${vm.name}`);
  }
  return ok({ itemName: vm.name, vmId: vm.id });
}
