// Role assignments, stored in their own table, PartitionKey = subscription, two rows per assignment, written
// together in one transaction so they never disagree:
//   `<principal>|<scope key>|<role>`        the grant row: one partition range read lists everything a
//                                            principal holds in a subscription (the hot path: every request)
//   `_name|<scope key>|<assignment name>`   the name row: addresses the assignment as an API resource and
//                                            lists a scope's assignments. '_' cannot start a principal id, so
//                                            name rows never fall in a principal's range.
// Scopes are `/subscriptions/{sub}` (key `*`) or `/subscriptions/{sub}/vaults/{vault}` (key `vault:<vault>`).
import { randomUUID } from 'node:crypto';
import { ApiError } from '../controlPlane/apiErrors';
import { NAME_RULES, PRINCIPAL_ID, ROLE_ASSIGNMENTS_TABLE } from '../controlPlane/names';
import { hasErrorCode } from '../errors';
import {
  STATE_ERROR,
  type StateStore,
  type StoredEntity,
  type TransactionOperation,
} from '../state/stateStore';
import { isRole, type Role } from './roles';
import { queryAll } from '../state/queryAll';

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
  /** The assignment's resource name. Absent only on grant rows written before names existed. */
  readonly assignmentName?: string;
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

/** Keys of the role-assignment table (names are case-insensitive, as everywhere in the API). */
export const assignmentKeys = {
  partition: (subscriptionId: string) => subscriptionId.toLowerCase(),
  grant: (principalId: string, scope: Scope, role: Role) =>
    `${principalId.toLowerCase()}|${scopeKey(scope)}|${role}`,
  /** Every name row of the subscription (all scopes), or of one scope. */
  namePrefix: (scope?: Scope) => (scope === undefined ? '_name|' : `_name|${scopeKey(scope)}|`),
  name: (scope: Scope, name: string) => `_name|${scopeKey(scope)}|${name.toLowerCase()}`,
};

/** Attempts when a role-assignment write loses a race before answering 409 ConcurrencyConflict. */
const MAX_ASSIGNMENT_RETRIES = 8;

export interface RoleAssignmentStore {
  /**
   * Idempotent (the token CLI): assigning the same role at the same scope twice keeps one assignment. A new
   * assignment gets a random (GUID) name.
   */
  assign(principalId: string, role: Role, scope: Scope, now: Date): Promise<RoleAssignment>;
  /** Removes the grant (and its name). False if there was none. No last-Owner rule: see roleAssignmentService. */
  remove(principalId: string, role: Role, scope: Scope): Promise<boolean>;
  /** The roles `principalId` holds at the subscription, plus at the vault if one is given. */
  rolesAt(principalId: string, scope: Scope): Promise<Role[]>;
  /** Every assignment of the principal in the subscription (for listing what it may see). */
  listForPrincipal(principalId: string, subscriptionId: string): Promise<RoleAssignment[]>;
  /**
   * Deletes every assignment at a vault scope (the vault is being deleted), so that a later vault of the
   * same name does not inherit them. Returns how many were deleted.
   */
  removeAllAt(scope: Scope & { readonly vaultName: string }): Promise<number>;
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

const lostRace = (err: unknown) =>
  hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) ||
  hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS) ||
  hasErrorCode(err, STATE_ERROR.NOT_FOUND);

/** All rows of a subscription's role-assignment partition under a prefix. */
export async function allRows<T extends RoleAssignment>(
  store: StateStore,
  subscriptionId: string,
  prefix: string,
  where: { field: string; op: 'eq'; value: string }[] = [],
): Promise<StoredEntity<T>[]> {
  return queryAll<T>(store, ROLE_ASSIGNMENTS_TABLE, assignmentKeys.partition(subscriptionId), {
    rowKeyPrefix: prefix,
    ...(where.length > 0 ? { where } : {}),
  });
}

/** The grant row of an assignment, rebuilt from its document (name rows carry the same document). */
export function grantKeyOf(a: RoleAssignment): string {
  return assignmentKeys.grant(a.principalId, parseScope(a.scope), a.role);
}

export function roleAssignmentStore(store: StateStore): RoleAssignmentStore {
  const T = ROLE_ASSIGNMENTS_TABLE;
  const list = async (principalId: string, subscriptionId: string): Promise<RoleAssignment[]> => {
    checkPrincipalId(principalId);
    const rows = await allRows(store, subscriptionId, `${principalId.toLowerCase()}|`);
    // A row whose role is not known any more grants nothing.
    return rows.map((e) => e.value).filter((a) => isRole(a.role));
  };
  return {
    async assign(principalId, role, scope, now) {
      checkPrincipalId(principalId);
      const pk = assignmentKeys.partition(scope.subscriptionId);
      const grantKey = assignmentKeys.grant(principalId, scope, role);
      for (let attempt = 0; attempt < MAX_ASSIGNMENT_RETRIES; attempt++) {
        const existing = await store.get<RoleAssignment>(T, pk, grantKey);
        if (existing?.value.assignmentName !== undefined) return existing.value;
        const assignment: RoleAssignment = {
          principalId,
          role,
          scope: formatScope(scope),
          createdTime: existing?.value.createdTime ?? now.toISOString(),
          assignmentName: randomUUID(),
        };
        const name = assignmentKeys.name(scope, assignment.assignmentName ?? '');
        try {
          await store.transact(T, pk, [
            existing
              ? { kind: 'update', rowKey: grantKey, value: assignment, etag: existing.etag }
              : { kind: 'insert', rowKey: grantKey, value: assignment },
            { kind: 'insert', rowKey: name, value: assignment },
          ]);
          return assignment;
        } catch (err) {
          if (!lostRace(err)) throw err;
        }
      }
      throw new ApiError('ConcurrencyConflict', 'The role assignment was changed concurrently; retry.');
    },
    async remove(principalId, role, scope) {
      checkPrincipalId(principalId);
      const pk = assignmentKeys.partition(scope.subscriptionId);
      const grantKey = assignmentKeys.grant(principalId, scope, role);
      const existing = await store.get<RoleAssignment>(T, pk, grantKey);
      if (!existing) return false;
      const ops: TransactionOperation[] = [{ kind: 'delete', rowKey: grantKey }];
      const name = existing.value.assignmentName;
      if (name !== undefined && (await store.get(T, pk, assignmentKeys.name(scope, name))))
        ops.push({ kind: 'delete', rowKey: assignmentKeys.name(scope, name) });
      await store.transact(T, pk, ops);
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
    async removeAllAt(scope) {
      const pk = assignmentKeys.partition(scope.subscriptionId);
      const vaultKey = `vault:${scope.vaultName.toLowerCase()}`;
      let removed = 0;
      for (let attempt = 0; attempt < MAX_ASSIGNMENT_RETRIES; attempt++) {
        // The scope key is the second part of both kinds of row key, so one scan finds the name rows and
        // the grant rows of the scope (including grants written before names existed).
        const rows = (await allRows(store, scope.subscriptionId, '')).filter(
          (e) => e.rowKey.split('|')[1] === vaultKey,
        );
        if (rows.length === 0) return removed;
        try {
          // Azure Tables: at most 100 operations per transaction.
          for (let i = 0; i < rows.length; i += 100) {
            const batch = rows.slice(i, i + 100);
            await store.transact(
              T,
              pk,
              batch.map((e): TransactionOperation => ({ kind: 'delete', rowKey: e.rowKey })),
            );
            removed += batch.filter((e) => e.rowKey.startsWith('_')).length;
          }
        } catch (err) {
          // A row vanished under us (a concurrent DELETE): list again.
          if (!hasErrorCode(err, STATE_ERROR.NOT_FOUND)) throw err;
        }
      }
      throw new ApiError('ConcurrencyConflict', 'The role assignments were changed concurrently; retry.');
    },
  };
}
