// The control plane as one object: every service over the same state store, clock and ids. Built once
// at app start (functions/index.ts) and by tests with memStateStore.
import { accessControl, type AccessControl } from '../auth/accessControl';
import { roleAssignmentService, type RoleAssignmentService } from '../auth/roleAssignmentService';
import { roleAssignmentStore, type RoleAssignmentStore } from '../auth/roleAssignments';
import type { ControlPlaneDeps } from './controlPlanePorts';
import { itemService, type ItemService } from './itemService';
import { jobService, type JobService } from './jobService';
import { policyService, type PolicyService } from './policyService';
import { recoveryPointService, type RecoveryPointService } from './recoveryPointService';
import { vaultService, type VaultService } from './vaultService';

export interface ControlPlane {
  readonly vaults: VaultService;
  readonly policies: PolicyService;
  readonly items: ItemService;
  readonly recoveryPoints: RecoveryPointService;
  readonly jobs: JobService;
  /** Role assignments as rows: grants (the token CLI) and the lookups authorization runs on. */
  readonly roleAssignments: RoleAssignmentStore;
  /** Role assignments as API resources (`.../roleAssignments/{name}`), with the last-Owner rule. */
  readonly assignments: RoleAssignmentService;
  readonly access: AccessControl;
}

export function createControlPlane(deps: ControlPlaneDeps): ControlPlane {
  const roleAssignments = roleAssignmentStore(deps.store);
  return {
    vaults: vaultService(deps),
    policies: policyService(deps),
    items: itemService(deps),
    recoveryPoints: recoveryPointService(deps),
    jobs: jobService(deps),
    roleAssignments,
    assignments: roleAssignmentService(deps),
    access: accessControl(roleAssignments),
  };
}
