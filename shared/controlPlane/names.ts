// Resource name rules (ARM-style) and the row keys built from them. Names are case-insensitive and
// case-preserving, as in ARM: keys use the lower-case form, documents keep the name as given.

/** ARM subscription ids are GUIDs; locally any short id of letters, digits and hyphens is accepted. */
export const SUBSCRIPTION_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
/** Azure Recovery Services vault names: 2-50 characters, letters, digits and hyphens, starting with a letter. */
export const VAULT_NAME = /^[A-Za-z][A-Za-z0-9-]{1,49}$/;
/** Backup policy names: 3-150 characters, letters, digits, '-' and '_', starting with a letter. */
export const POLICY_NAME = /^[A-Za-z][A-Za-z0-9_-]{2,149}$/;
/** Protected item names follow Azure's `VM;iaasvmcontainerv2;rg;vm` style, so ';' and '.' are allowed. */
export const ITEM_NAME = /^[A-Za-z0-9][A-Za-z0-9;._-]{0,199}$/;
/** Ids Strongbox generates (jobs, recovery points). */
export const GENERATED_ID = /^[A-Za-z0-9-]{1,64}$/;
/** Role assignment names (ARM uses GUIDs). */
export const ROLE_ASSIGNMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
/** Principal ids in role assignments: Entra object ids (GUIDs) or local names. */
export const PRINCIPAL_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

export const NAME_RULES = {
  subscriptionId: {
    pattern: SUBSCRIPTION_ID,
    rule: 'must be 1-64 letters, digits or hyphens, starting with a letter or digit',
  },
  vaultName: { pattern: VAULT_NAME, rule: 'must be 2-50 letters, digits or hyphens, starting with a letter' },
  policyName: {
    pattern: POLICY_NAME,
    rule: "must be 3-150 letters, digits, '-' or '_', starting with a letter",
  },
  itemName: {
    pattern: ITEM_NAME,
    rule: "must be 1-200 letters, digits, ';', '.', '-' or '_', starting with a letter or digit",
  },
  recoveryPointId: { pattern: GENERATED_ID, rule: 'must be 1-64 letters, digits or hyphens' },
  jobId: { pattern: GENERATED_ID, rule: 'must be 1-64 letters, digits or hyphens' },
  /** Chosen by the client, as in ARM (usually a GUID). */
  roleAssignmentName: {
    pattern: ROLE_ASSIGNMENT_NAME,
    rule: 'must be 1-64 letters, digits or hyphens, starting with a letter or digit (a GUID is typical)',
  },
} as const;
export type NameKind = keyof typeof NAME_RULES;

/** The table holding every control-plane row, partitioned by subscription so a vault's rows share a partition. */
export const CONTROL_PLANE_TABLE = 'StrongboxControlPlane';
export const ROLE_ASSIGNMENTS_TABLE = 'StrongboxRoleAssignments';

const k = (name: string) => name.toLowerCase();

/** Row keys. The '|' separator cannot occur in any name above, so prefixes never overlap. */
export const rowKeys = {
  partition: (subscriptionId: string) => k(subscriptionId),
  vaultCounter: () => 'counter|vaults',
  vaultPrefix: () => 'vault|',
  vault: (vault: string) => `vault|${k(vault)}`,
  policyPrefix: (vault: string) => `policy|${k(vault)}|`,
  policy: (vault: string, policy: string) => `policy|${k(vault)}|${k(policy)}`,
  itemPrefix: (vault: string) => `item|${k(vault)}|`,
  item: (vault: string, item: string) => `item|${k(vault)}|${k(item)}`,
  rpVaultPrefix: (vault: string) => `rp|${k(vault)}|`,
  rpPrefix: (vault: string, item: string) => `rp|${k(vault)}|${k(item)}|`,
  rp: (vault: string, item: string, rp: string) => `rp|${k(vault)}|${k(item)}|${k(rp)}`,
  jobPrefix: (vault: string) => `job|${k(vault)}|`,
  job: (vault: string, job: string) => `job|${k(vault)}|${k(job)}`,
};

export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
