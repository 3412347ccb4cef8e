// Turns (principal, scope, action) into allow / 404 / 403. A principal with no role at the scope gets
// 404, exactly as if the resource did not exist, so another subscription's or vault's resources are never
// confirmed, let alone shown (reliability test 12, OWASP API1). A principal that can see the scope but
// whose role lacks the action gets 403 with no resource data.
import { ApiError } from '../controlPlane/apiErrors';
import type { Principal } from './tokenVerifier';
import { formatScope, parseScope, type RoleAssignmentStore, type Scope } from './roleAssignments';
import { authorizeAny, type Action } from './roles';

export interface AccessControl {
  /** Resolves if allowed; throws ApiError 404 (no access at all) or 403 (role lacks the action). */
  check(principal: Principal, scope: Scope, action: Action): Promise<void>;
  /** Vault names in the subscription the principal may perform `action` on; 'all' for a subscription-wide grant. */
  vaultsAllowed(principal: Principal, subscriptionId: string, action: Action): Promise<'all' | Set<string>>;
}

function notFound(scope: Scope): ApiError {
  return scope.vaultName === undefined
    ? new ApiError('ResourceNotFound', `The subscription '${scope.subscriptionId}' was not found.`)
    : new ApiError('VaultNotFound', `The vault '${scope.vaultName}' was not found.`, 'vaultName');
}

export function accessControl(assignments: RoleAssignmentStore): AccessControl {
  return {
    async check(principal, scope, action) {
      const roles = await assignments.rolesAt(principal.id, scope);
      if (roles.length === 0) throw notFound(scope);
      if (!authorizeAny(roles, action)) {
        throw new ApiError(
          'AuthorizationFailed',
          `The caller does not have permission to perform '${action}' at scope '${formatScope(scope)}'.`,
        );
      }
    },
    async vaultsAllowed(principal, subscriptionId, action) {
      const all = await assignments.listForPrincipal(principal.id, subscriptionId);
      if (all.length === 0) throw notFound({ subscriptionId });
      const vaults = new Set<string>();
      for (const a of all) {
        if (!authorizeAny([a.role], action)) continue;
        const s = parseScope(a.scope);
        if (s.vaultName === undefined) return 'all';
        vaults.add(s.vaultName.toLowerCase());
      }
      if (vaults.size === 0) {
        throw new ApiError(
          'AuthorizationFailed',
          `The caller does not have permission to perform '${action}' in this subscription.`,
        );
      }
      return vaults;
    },
  };
}
