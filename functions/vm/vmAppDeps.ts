// Builds the VM workflows' ports from the app's configuration, once, on first use (an app that never
// protects a VM never touches the fabric tables or the key file). Every VM function reads them here.
import { StrongboxError } from '../../shared/errors';
import { LocalFabric } from '../../shared/fabric/localFabric';
import { azureTableStateStore } from '../../shared/state/azureTableStateStore';
import { vaultBlobStore } from '../../shared/vm/vaultBlobStore';
import { vmDataPlane } from '../../shared/vm/vmDataPlane';
import type { VmDeps, VmPlatform } from '../../shared/vm/vmDeps';
import { vmKeyProvider } from '../../shared/vm/vmKeyProvider';
import { DEFAULT_MAX_DATA_DISKS } from '../../shared/vm/vmLimits';
import { vmStateStore } from '../../shared/vm/vmStateStore';
import type { AppContext } from '../appContext';
import type { KeyProvider } from '../../shared/vault';

let app: AppContext | undefined;
let deps: VmDeps | undefined;

/** Called by registerVmFunctions at load. */
export function initVmDeps(ctx: AppContext): void {
  app = ctx;
  deps = undefined;
}

/**
 * The machines VMs run on. With a storage connection string (a laptop, tests) that is the local fabric
 * in the same account; with managed-identity storage (a deployed app) it would be ArmInventory, which
 * has no restore side (VmProvisioner) yet, so VM workflows refuse to run there (docs/vm-protection.md).
 */
function platformFor(ctx: AppContext): VmPlatform {
  if (ctx.config.storage.kind === 'connectionString') {
    return LocalFabric.fromConnectionString(ctx.config.storage.connectionString);
  }
  throw new StrongboxError(
    'VM.PLATFORM_UNAVAILABLE',
    'VM protection on Azure needs the ARM platform adapter with a restore provisioner, which this build does not have',
  );
}

export function vmDeps(): VmDeps {
  if (deps) return deps;
  const ctx = app;
  if (!ctx) throw new Error('VM functions used before registerVmFunctions ran');
  let keys: KeyProvider | undefined;
  deps = {
    cp: ctx.cp,
    state: vmStateStore(azureTableStateStore(ctx.config.storage)),
    platform: platformFor(ctx),
    dataPlane: vmDataPlane({
      containerPrefix: ctx.config.vaultContainerPrefix,
      storeFor: (container) => vaultBlobStore(ctx.config.storage, container),
      // The Functions host runs the app with the app folder as its working directory.
      keyProvider: () => (keys ??= vmKeyProvider(ctx.config.keys, process.cwd())),
    }),
    maxDataDisks: ctx.config.vm.maxDataDisks ?? DEFAULT_MAX_DATA_DISKS,
  };
  return deps;
}
