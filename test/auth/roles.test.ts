import { ACTIONS, ROLES, authorize, type Action, type Role } from '../../shared/auth/roles';

/** The expected table, written out so a change to roles.ts must be a deliberate change here too. */
const EXPECTED: Record<Role, readonly Action[]> = {
  'Backup Reader': [
    'vaults/read',
    'backupPolicies/read',
    'protectedItems/read',
    'recoveryPoints/read',
    'jobs/read',
  ],
  'Backup Operator': [
    'vaults/read',
    'backupPolicies/read',
    'protectedItems/read',
    'recoveryPoints/read',
    'jobs/read',
    'protectedItems/write',
    'protectedItems/backup',
    'protectedItems/stopProtection',
    'recoveryPoints/restore',
    'jobs/cancel',
  ],
  // Strongbox's spec (issue 4), not Azure's: everything except managing role assignments, so vault
  // deletion too (Azure's Backup Contributor may not delete a vault; roles.ts).
  'Backup Contributor': ACTIONS.filter(
    (a) => !['roleAssignments/write', 'roleAssignments/delete'].includes(a),
  ),
  Owner: ACTIONS,
};

describe('authorize(role, action)', () => {
  const pairs = ROLES.flatMap((role) => ACTIONS.map((action) => [role, action] as const));

  it.each(pairs)('%s / %s', (role, action) => {
    expect(authorize(role, action)).toBe(EXPECTED[role].includes(action));
  });

  it('Operator cannot manage policies, delete backup data or delete vaults', () => {
    for (const a of [
      'backupPolicies/write',
      'backupPolicies/delete',
      'protectedItems/deleteBackupData',
      'vaults/delete',
    ] as const) {
      expect(authorize('Backup Operator', a)).toBe(false);
    }
  });

  it('Contributor may delete vaults and read role assignments, but only Owner may manage them', () => {
    expect(authorize('Backup Contributor', 'vaults/delete')).toBe(true);
    expect(authorize('Backup Contributor', 'roleAssignments/read')).toBe(true);
    for (const role of ROLES) {
      for (const a of ['roleAssignments/write', 'roleAssignments/delete'] as const)
        expect(authorize(role, a)).toBe(role === 'Owner');
    }
  });

  it('each role can do everything the role below it can', () => {
    for (let i = 1; i < ROLES.length; i++) {
      const lower = ROLES[i - 1] as Role;
      const higher = ROLES[i] as Role;
      for (const a of ACTIONS) if (authorize(lower, a)) expect(authorize(higher, a)).toBe(true);
    }
  });
});
