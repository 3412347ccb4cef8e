// The VM workflows' activities: each decodes its input, runs one step of shared/vm, and returns an
// Outcome (expected failures) or throws (worth retrying). Durable names are in names.ts.
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { VmSnapshotSet } from '../../shared/inventory/inventory';
import type { ProvisionedDisk } from '../../shared/inventory/vmProvisioner';
import {
  abandonBackup,
  backupSegment,
  commitBackup,
  markItemFailed,
  planDisks,
  prepareBackup,
  releaseSnapshots,
  takeSnapshot,
  type CommitInput,
} from '../../shared/vm/backupSteps';
import { discoverVms } from '../../shared/vm/discoverVms';
import { configureProtection, deleteBackupData, stopProtectionRetainData } from '../../shared/vm/protection';
import { registerVm } from '../../shared/vm/registerVm';
import {
  abandonRestore,
  createRestoreDisks,
  finishRestore,
  prepareRestore,
  restoreSegment,
} from '../../shared/vm/restoreSteps';
import { collectGarbage, expirePoints, retentionVaults, vaultItemNames } from '../../shared/vm/retention';
import { startDueBackups, type BackupStarter } from '../../shared/vm/scheduler';
import { startVerifyJob, verifyVmVault, type VerifyVaultInput } from '../../shared/vm/vaultVerify';
import type {
  BackupInput,
  PlannedDisk,
  PreparedBackup,
  PreparedRestore,
  RestoreInput,
  TakenSnapshot,
} from '../../shared/vm/vmWorkflowTypes';
import type { DiskBackupPlan } from '../../shared/vault';
import { keyFailuresAsOutcome } from '../../shared/vm/vmErrors';
import { instanceStatus } from './durableStatus';
import { ACTIVITIES, ORCHESTRATORS } from './names';
import { vmDeps } from './vmAppDeps';

type Handler = (input: never, context: InvocationContext) => Promise<unknown>;

/** Starts scheduled backups through this invocation's durable client. */
function starterOf(context: InvocationContext): BackupStarter {
  const client = df.getClient(context);
  return {
    exists: async (instanceId) => (await instanceStatus(client, instanceId)) !== undefined,
    async startBackup(instanceId, input) {
      if ((await instanceStatus(client, instanceId)) !== undefined) return 'exists';
      try {
        await client.startNew(ORCHESTRATORS.backup, { instanceId, input });
        return 'started';
      } catch (err) {
        // Another tick started it between our check and our start (the host answers 409).
        if ((await instanceStatus(client, instanceId)) !== undefined) return 'exists';
        throw err;
      }
    },
  };
}

export const VM_ACTIVITIES: Readonly<Record<string, { handler: Handler; durableClient?: boolean }>> = {
  [ACTIVITIES.discover]: {
    handler: (i: { sub: string; vault: string; nowIso: string }) =>
      discoverVms(vmDeps(), i.sub, i.vault, i.nowIso),
  },
  [ACTIVITIES.register]: {
    handler: (i: { sub: string; vault: string; vmName: string }) =>
      registerVm(vmDeps(), i.sub, i.vault, i.vmName),
  },
  [ACTIVITIES.configureProtection]: {
    handler: (i: { sub: string; vault: string; item: string; policyName: string; nowIso: string }) =>
      configureProtection(vmDeps(), i.sub, i.vault, i.item, i.policyName, i.nowIso),
  },
  [ACTIVITIES.stopProtection]: {
    handler: (i: { sub: string; vault: string; item: string }) =>
      stopProtectionRetainData(vmDeps(), i.sub, i.vault, i.item),
  },
  [ACTIVITIES.deleteBackupData]: {
    handler: (i: { sub: string; vault: string; item: string; nowIso: string }) =>
      deleteBackupData(vmDeps(), i.sub, i.vault, i.item, i.nowIso),
  },
  [ACTIVITIES.backupPrepare]: { handler: (i: BackupInput) => prepareBackup(vmDeps(), i) },
  [ACTIVITIES.backupSnapshot]: {
    handler: (i: { vmId: string; nowIso: string; setId?: string }) =>
      takeSnapshot(vmDeps(), i.vmId, i.nowIso, i.setId),
  },
  [ACTIVITIES.backupPlan]: {
    handler: (i: { input: BackupInput; prepared: PreparedBackup; taken: TakenSnapshot }) =>
      keyFailuresAsOutcome(() => planDisks(vmDeps(), i.input, i.prepared, i.taken)),
  },
  [ACTIVITIES.backupSegment]: {
    handler: (i: { input: BackupInput; disk: PlannedDisk; index: number; nowIso: string }) =>
      keyFailuresAsOutcome(() => backupSegment(vmDeps(), i.input, i.disk, i.index, i.nowIso)),
  },
  [ACTIVITIES.backupCommit]: {
    handler: (i: CommitInput) => keyFailuresAsOutcome(() => commitBackup(vmDeps(), i)),
  },
  [ACTIVITIES.backupAbandon]: {
    handler: (i: { input: BackupInput; plans: DiskBackupPlan[]; nowIso: string }) =>
      abandonBackup(vmDeps(), i.input, i.plans, i.nowIso),
  },
  [ACTIVITIES.releaseSnapshots]: { handler: (set: VmSnapshotSet) => releaseSnapshots(vmDeps(), set) },
  [ACTIVITIES.markItemFailed]: {
    handler: (i: { input: BackupInput; error: { code: string; message: string } }) =>
      markItemFailed(vmDeps(), i.input, i.error),
  },
  [ACTIVITIES.restorePrepare]: {
    handler: (i: RestoreInput) => keyFailuresAsOutcome(() => prepareRestore(vmDeps(), i)),
  },
  [ACTIVITIES.restoreDisks]: {
    handler: (i: { input: RestoreInput; prepared: PreparedRestore }) =>
      createRestoreDisks(vmDeps(), i.input, i.prepared),
  },
  [ACTIVITIES.restoreSegment]: {
    handler: (i: {
      input: RestoreInput;
      target: ProvisionedDisk;
      vaultPointId: string;
      range: { offset: number; length: number };
    }) => keyFailuresAsOutcome(() => restoreSegment(vmDeps(), i.input, i.target, i.vaultPointId, i.range)),
  },
  [ACTIVITIES.restoreAbandon]: {
    handler: (disks: ProvisionedDisk[]) => abandonRestore(vmDeps(), disks),
  },
  [ACTIVITIES.restoreFinish]: {
    handler: (i: { input: RestoreInput; prepared: PreparedRestore; disks: ProvisionedDisk[] }) =>
      finishRestore(vmDeps(), i.input, i.prepared, i.disks),
  },
  [ACTIVITIES.startDueBackups]: {
    durableClient: true,
    handler: (i: { nowIso: string }, context: InvocationContext) =>
      startDueBackups(vmDeps(), starterOf(context), i.nowIso),
  },
  [ACTIVITIES.retentionVaults]: { handler: () => retentionVaults(vmDeps()) },
  [ACTIVITIES.vaultItems]: {
    handler: (i: { sub: string; vault: string }) => vaultItemNames(vmDeps(), i.sub, i.vault),
  },
  [ACTIVITIES.expirePoints]: {
    handler: (i: { sub: string; vault: string; nowIso: string }) =>
      expirePoints(vmDeps(), i.sub, i.vault, i.nowIso),
  },
  [ACTIVITIES.collectGarbage]: {
    handler: (i: { sub: string; vault: string; nowIso: string; pointsDeleted: number }) =>
      collectGarbage(vmDeps(), i.sub, i.vault, i.nowIso, i.pointsDeleted),
  },
  [ACTIVITIES.verifyJobStart]: {
    handler: (i: { sub: string; vault: string; jobId: string; durableInstanceId: string }) =>
      startVerifyJob(vmDeps(), i),
  },
  [ACTIVITIES.verifyVault]: {
    handler: (i: VerifyVaultInput) => keyFailuresAsOutcome(() => verifyVmVault(vmDeps(), i)),
  },
};
