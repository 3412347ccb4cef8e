// Discovery: which VMs of the subscription could join this vault. Only VMs in the vault's region are
// listed (Azure Backup protects VMs in its own region), and VMs already registered in the vault are
// left out. The result replaces the vault's previous discovery (register reads it).
import { hasErrorCode } from '../errors';
import type { Vm } from '../inventory/inventory';
import { INVENTORY_ERROR_CODES } from '../inventory/inventoryErrors';
import type { VmDeps } from './vmDeps';
import type { DiscoveredVmDoc } from './vmStateStore';
import { fail, ok, type Outcome } from './vmErrors';

export interface DiscoveryResult {
  readonly inRegion: number;
  readonly discovered: number;
  readonly alreadyRegistered: number;
}

export function discoveredDocOf(vm: Vm, at: string): DiscoveredVmDoc {
  return {
    vmId: vm.id,
    name: vm.name,
    resourceGroup: vm.resourceGroup,
    region: vm.region,
    osType: vm.osType,
    powerState: vm.powerState,
    agentStatus: vm.agent.status,
    ...(vm.agent.version !== undefined ? { agentVersion: vm.agent.version } : {}),
    dataDiskCount: vm.disks.filter((d) => d.role === 'data').length,
    discoveredAt: at,
  };
}

export async function discoverVms(
  deps: VmDeps,
  sub: string,
  vault: string,
  nowIso: string,
): Promise<Outcome<DiscoveryResult>> {
  const v = await deps.cp.vaults.read(sub, vault);
  let vms: Vm[];
  try {
    vms = await deps.platform.listVms();
  } catch (err) {
    if (hasErrorCode(err, INVENTORY_ERROR_CODES.TRANSIENT)) throw err; // retried by the orchestration
    return fail('InternalError', `Listing the VMs failed: ${(err as Error).message}`);
  }
  const inRegion = vms.filter((vm) => vm.region.toLowerCase() === v.doc.location.toLowerCase());
  const registered = new Set<string>();
  for (const vm of inRegion) {
    const item = await deps.cp.items.read(sub, vault, vm.name).catch((err: unknown) => {
      if (hasErrorCode(err, 'ProtectedItemNotFound')) return undefined;
      throw err;
    });
    if (item) registered.add(vm.name);
  }
  const docs = inRegion.filter((vm) => !registered.has(vm.name)).map((vm) => discoveredDocOf(vm, nowIso));
  await deps.state.putDiscovered(sub, vault, docs);
  return ok({ inRegion: inRegion.length, discovered: docs.length, alreadyRegistered: registered.size });
}
