// Role assignments, stored in their own table: PartitionKey = subscription, RowKey =
// `<principal>|<scope key>|<role>`, so one partition read lists everything a principal holds in a
// subscription. Scopes are `/subscriptions/{sub}` or `/subscriptions/{sub}/vaults/{vault}`.
import { ApiError } from '../controlPlane/apiErrors';
import { NAME_RULES, PRINCIPAL_ID, ROLE_ASSIGNMENTS_TABLE } from '../controlPlane/names';
import type { StateStore } from '../state/stateStore';
import { isRole, type Role } from './roles';

export interface Scope {
  readonly subscriptionId: string;
  /** Absent for a subscription-wide assignment. */
  readonly vaultName?: string;
}

export interface RoleAssignment {
  readonly principalId: string;
  readonly role: Role;
  readonly scope: string;
  readonly createdTime: string;
  readonly [field: string]: unknown;
}

const SCOPE = /^\/subscriptions\/([^/]+)(?:\/vaults\/([^/]+))?\/?$/i;

/** Parses `/subscriptions/{sub}[/vaults/{vault}]`; throws InvalidParameter naming the rule. */
export function parseScope(scope: string): Scope {
  const m = SCOPE.exec(scope);
  const sub = m?.[1];
  if (!m || sub === undefined || !NAME_RULES.subscriptionId.pattern.test(sub)) {
    throw new ApiError(
      'InvalidParameter',
      'scope must be /subscriptions/{subscriptionId} or /subscriptions/{subscriptionId}/vaults/{vaultName}',
      'scope',
    );
  }
  const vault = m[2];
  if (vault !== undefined && !NAME_RULES.vaultName.pattern.test(vault)) {
    throw new ApiError('InvalidParameter', `scope: the vault name ${NAME_RULES.vaultName.rule}`, 'scope');
  }
  return vault === undefined ? { subscriptionId: sub } : { subscriptionId: sub, vaultName: vault };
}

export function formatScope(scope: Scope): string {
  return `/subscriptions/${scope.subscriptionId}${scope.vaultName === undefined ? '' : `/vaults/${scope.vaultName}`}`;
}

const scopeKey = (scope: Scope) =>
  scope.vaultName === undefined ? '*' : `vault:${scope.vaultName.toLowerCase()}`;
const pk = (subscriptionId: string) => subscriptionId.toLowerCase();

export interface RoleAssignmentStore {
  /** Idempotent: assigning the same role at the same scope twice keeps one assignment. */
  assign(principalId: string, role: Role, scope: Scope, now: Date): Promise<RoleAssignment>;
  remove(principalId: string, role: Role, scope: Scope): Promise<boolean>;
  /** The roles `principalId` holds at the subscription, plus at the vault if one is given. */
  rolesAt(principalId: string, scope: Scope): Promise<Role[]>;
  /** Every assignment of the principal in the subscription (for listing what it may see). */
  listForPrincipal(principalId: string, subscriptionId: string): Promise<RoleAssignment[]>;
}

export function checkPrincipalId(principalId: string): void {
  if (!PRINCIPAL_ID.test(principalId)) {
    throw new ApiError(
      'InvalidParameter',
      "principalId must be 1-128 letters, digits, '.', '_', '@' or '-'",
      'principalId',
    );
  }
}

export function roleAssignmentStore(store: StateStore): RoleAssignmentStore {
  const list = async (principalId: string, subscriptionId: string): Promise<RoleAssignment[]> => {
    checkPrincipalId(principalId);
    const out: RoleAssignment[] = [];
    let token: string | undefined;
    do {
      const page = await store.query<RoleAssignment>(ROLE_ASSIGNMENTS_TABLE, pk(subscriptionId), {
        rowKeyPrefix: `${principalId.toLowerCase()}|`,
        ...(token ? { continuationToken: token } : {}),
      });
      // A row whose role is not known any more grants nothing.
      out.push(...page.items.map((e) => e.value).filter((a) => isRole(a.role)));
      token = page.continuationToken;
    } while (token);
    return out;
  };
  return {
    async assign(principalId, role, scope, now) {
      checkPrincipalId(principalId);
      const assignment: RoleAssignment = {
        principalId,
        role,
        scope: formatScope(scope),
        createdTime: now.toISOString(),
      };
      const rk = `${principalId.toLowerCase()}|${scopeKey(scope)}|${role}`;
      await store.upsert(ROLE_ASSIGNMENTS_TABLE, pk(scope.subscriptionId), rk, assignment);
      return assignment;
    },
    async remove(principalId, role, scope) {
      checkPrincipalId(principalId);
      const rk = `${principalId.toLowerCase()}|${scopeKey(scope)}|${role}`;
      const existing = await store.get(ROLE_ASSIGNMENTS_TABLE, pk(scope.subscriptionId), rk);
      if (!existing) return false;
      await store.delete(ROLE_ASSIGNMENTS_TABLE, pk(scope.subscriptionId), rk, existing.etag);
      return true;
    },
    async rolesAt(principalId, scope) {
      if (!PRINCIPAL_ID.test(principalId)) return [];
      const all = await list(principalId, scope.subscriptionId);
      return all
        .filter((a) => {
          const s = parseScope(a.scope);
          return (
            s.vaultName === undefined ||
            (scope.vaultName !== undefined && s.vaultName.toLowerCase() === scope.vaultName.toLowerCase())
          );
        })
        .map((a) => a.role);
    },
    listForPrincipal: (principalId, subscriptionId) =>
      PRINCIPAL_ID.test(principalId) ? list(principalId, subscriptionId) : Promise.resolve([]),
  };
}
