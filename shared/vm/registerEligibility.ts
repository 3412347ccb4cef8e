// Can a VM be registered (get the backup extension and join a vault)? Pure: the register activity
// reads the VM from the Inventory and asks this. The checks and their order follow Azure Backup's
// prerequisites for an Azure VM: running, a guest agent of a supported version, at most N data disks.
import { isAgentVersionSupported, MIN_GUEST_AGENT_VERSION } from '../inventory/guestAgent';
import type { Vm } from '../inventory/inventory';
import { fail, ok, type Outcome } from './vmErrors';

export interface EligibilityOptions {
  readonly maxDataDisks: number;
}

export function checkRegisterEligibility(vm: Vm, opts: EligibilityOptions): Outcome<true> {
  if (vm.powerState !== 'running') {
    return fail('VmNotRunning', `VM ${vm.name} is ${vm.powerState}, not running`);
  }
  if (vm.agent.status === 'missing') {
    return fail('GuestAgentMissing', `VM ${vm.name} has no guest agent`);
  }
  if (vm.agent.status === 'notReady') {
    return fail('GuestAgentMissing', `The guest agent of VM ${vm.name} is not answering`);
  }
  if (!isAgentVersionSupported(vm.agent.version)) {
    return fail(
      'GuestAgentOutdated',
      `VM ${vm.name} runs guest agent ${vm.agent.version ?? 'of unknown version'}, older than the minimum ${MIN_GUEST_AGENT_VERSION}`,
    );
  }
  const dataDisks = vm.disks.filter((d) => d.role === 'data').length;
  if (dataDisks > opts.maxDataDisks) {
    return fail(
      'TooManyDataDisks',
      `VM ${vm.name} has ${dataDisks} data disks; at most ${opts.maxDataDisks} are supported`,
    );
  }
  return ok(true);
}
