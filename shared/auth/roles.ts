// Built-in roles and what each may do, after Azure Backup's built-in roles (backup-rbac-rs-vault.md):
//   Backup Reader      - view only.
//   Backup Operator    - also back up on demand, restore, register items and protect them with an EXISTING
//                        policy, stop protection keeping data. Not: create/change/delete policies, stop
//                        protection deleting data, delete vaults.
//   Backup Contributor - everything except managing role assignments (it may read them). DIFFERS FROM
//                        AZURE on purpose: Azure's Backup Contributor may not delete the vault ("all
//                        permissions to create and manage backup except deleting the vault and giving
//                        access to others"); Strongbox follows its own spec (issue 4: "everything except
//                        managing role assignments"), so a Contributor may delete an (empty) vault.
//   Owner              - everything, including role assignments.
// authorize() is a pure lookup in ACTION_ROLES, so the table below IS the policy, and tests read it.

export const ROLES = ['Backup Reader', 'Backup Operator', 'Backup Contributor', 'Owner'] as const;
export type Role = (typeof ROLES)[number];

export const ACTIONS = [
  'vaults/read',
  'vaults/write',
  'vaults/delete',
  'backupPolicies/read',
  'backupPolicies/write',
  'backupPolicies/delete',
  'protectedItems/read',
  /** Register an item or configure protection with an existing policy. */
  'protectedItems/write',
  /** Back up now (on-demand backup). */
  'protectedItems/backup',
  'protectedItems/stopProtection',
  /** Stop protection AND delete backup data (destructive). */
  'protectedItems/deleteBackupData',
  /** Bring a soft-deleted item back (its data retained, protection stopped). */
  'protectedItems/undelete',
  'recoveryPoints/read',
  'recoveryPoints/restore',
  'jobs/read',
  'jobs/cancel',
  'roleAssignments/read',
  'roleAssignments/write',
  'roleAssignments/delete',
] as const;
export type Action = (typeof ACTIONS)[number];

const READER: readonly Action[] = [
  'vaults/read',
  'backupPolicies/read',
  'protectedItems/read',
  'recoveryPoints/read',
  'jobs/read',
];
const OPERATOR: readonly Action[] = [
  ...READER,
  'protectedItems/write',
  'protectedItems/backup',
  'protectedItems/stopProtection',
  'recoveryPoints/restore',
  'jobs/cancel',
];
const CONTRIBUTOR: readonly Action[] = [
  ...OPERATOR,
  'vaults/write',
  // Strongbox, not Azure: see the header.
  'vaults/delete',
  'backupPolicies/write',
  'backupPolicies/delete',
  'protectedItems/deleteBackupData',
  // Azure: undelete needs Backup Contributor.
  'protectedItems/undelete',
  'roleAssignments/read',
];

/** Role -> allowed actions. Owner gets every action, including ones added later. */
export const ROLE_ACTIONS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  'Backup Reader': new Set(READER),
  'Backup Operator': new Set(OPERATOR),
  'Backup Contributor': new Set(CONTRIBUTOR),
  Owner: new Set(ACTIONS),
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** May `role` perform `action`? Pure; the single source of truth for authorization decisions. */
export function authorize(role: Role, action: Action): boolean {
  return ROLE_ACTIONS[role].has(action);
}

/** True if any of the roles allows the action (a principal may hold several assignments). */
export function authorizeAny(roles: Iterable<Role>, action: Action): boolean {
  for (const role of roles) if (authorize(role, action)) return true;
  return false;
}
