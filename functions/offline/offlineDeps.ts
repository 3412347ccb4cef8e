// The ports offline seeding's functions use, built once from the app's configuration on first use.
import * as path from 'node:path';
import { ApiError } from '../../shared/controlPlane/apiErrors';
import { azureTableStateStore } from '../../shared/state/azureTableStateStore';
import { azureDataAccess } from '../../shared/offline/azureDataAccess';
import { loadOrCreateEscrowKeyPair, type EscrowKeyPair } from '../../shared/offline/driveKeyWrap';
import { containerStore, storageAccountNameOf } from '../../shared/offline/importStorage';
import { azureImportServiceFromSettings } from '../../shared/offline/azureImportService';
import type { ImportService } from '../../shared/offline/importService';
import { localImportService } from '../../shared/offline/localImportService';
import {
  OFFLINE_SEEDING_UNAVAILABLE,
  offlineService,
  serverContainerOf,
  type OfflineService,
} from '../../shared/offline/offlineService';
import { offlineSteps, type OfflineSteps } from '../../shared/offline/offlineSteps';
import { offlineStore } from '../../shared/offline/offlineStore';
import { serviceDriveKeyEscrow } from '../../shared/offline/serviceDriveKeyEscrow';
import type { HelperEventDeps } from '../../shared/offline/helperEvents';
import type { AppContext } from '../appContext';

export interface OfflineDeps {
  readonly service: OfflineService;
  readonly steps: OfflineSteps;
  readonly helperEvents: HelperEventDeps;
}

/**
 * Table prefix of the datacenter emulator's tables (`offlineimportjobs`, `offlineimporttracking`); in Azure
 * the tracking table of the Import/Export adapter has the same name and row shape.
 */
const EMULATOR_TABLE_PREFIX = 'offline';

export function lazyOfflineDeps(ctx: AppContext): () => OfflineDeps {
  let built: OfflineDeps | undefined;
  return () => (built ??= build(ctx));
}

function build({ config, cp }: AppContext): OfflineDeps {
  const state = azureTableStateStore(config.storage);
  const store = offlineStore(state);
  // The escrow key pair lives with the local signing key (a laptop); in Azure it belongs in Key Vault,
  // which is not wired here yet. So in Azure the operations that need it (vault credentials, creating an
  // import job) answer OfflineSeedingUnavailable even when the Import/Export adapter below is configured;
  // the ones that only read or update an existing job go through the adapter.
  const keyDir =
    config.tokenValidation.kind === 'localKey' ? path.resolve(config.tokenValidation.dir) : undefined;
  let pair: Promise<EscrowKeyPair> | undefined;
  const keyPair = (): Promise<EscrowKeyPair> => {
    if (keyDir === undefined) return Promise.reject(OFFLINE_SEEDING_UNAVAILABLE());
    return (pair ??= loadOrCreateEscrowKeyPair(keyDir).catch((err: unknown) => {
      pair = undefined;
      throw err;
    }));
  };
  let imports: ImportService | undefined;
  // Connection-string storage (a laptop, Azurite): the datacenter emulator. Managed-identity storage (Azure):
  // Azure Import/Export when its settings are present, else none (OfflineSeedingUnavailable).
  const importsOf = (): ImportService => {
    if (imports) return imports;
    const { storage, importExport } = config;
    if (storage.kind === 'connectionString') {
      return (imports = localImportService({
        connectionString: storage.connectionString,
        escrow: serviceDriveKeyEscrow(store, keyPair),
        tablePrefix: EMULATOR_TABLE_PREFIX,
      }));
    }
    if (importExport === undefined) throw OFFLINE_SEEDING_UNAVAILABLE();
    return (imports = azureImportServiceFromSettings({
      ...importExport,
      ...(storage.clientId !== undefined ? { managedIdentityClientId: storage.clientId } : {}),
      tableEndpoint: storage.endpoints.table,
      tablePrefix: EMULATOR_TABLE_PREFIX,
    }));
  };
  const account = storageAccountNameOf(config.storage);
  const importContainer = (storageAccount: string, container: string) => {
    if (storageAccount !== account) {
      throw new ApiError(
        'InvalidRequestBody',
        `storage account ${storageAccount} is not reachable from this service (it imports into ${account})`,
      );
    }
    return containerStore(config.storage, container);
  };
  const serverVault = (sub: string, vault: string, serverId: string) =>
    containerStore(config.storage, serverContainerOf(config.vaultContainerPrefix, sub, vault, serverId));
  const helperEvents: HelperEventDeps = { cp, store, serverVault, now: () => new Date() };
  const service = offlineService({
    cp,
    store,
    imports: importsOf,
    dataAccess: azureDataAccess(config.storage),
    escrowKey: keyPair,
    vaultContainerPrefix: config.vaultContainerPrefix,
    importStorageAccount: account,
    helperEvents,
    now: () => new Date(),
  });
  const steps = offlineSteps({
    cp,
    store,
    imports: importsOf,
    importContainer,
    serverVault,
    annotateJobs: (doc, detail) => service.annotateJobs(doc, detail),
  });
  return { service, steps, helperEvents };
}

// The API operations are a static list (offlineRoutes.ts) registered before registerOfflineFunctions
// runs, so they reach the deps through this slot, which registration fills once.
let current: (() => OfflineDeps) | undefined;

export function setOfflineDeps(deps: () => OfflineDeps): void {
  current = deps;
}

export function offlineDepsOrThrow(): OfflineDeps {
  if (!current) throw new Error('offline seeding functions are not registered (registerOfflineFunctions)');
  return current();
}
