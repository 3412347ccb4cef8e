// Role assignments as API resources (`.../roleAssignments/{name}`, at subscription or vault scope), after
// ARM's Microsoft.Authorization/roleAssignments: the client names the assignment (usually a GUID), an
// assignment is immutable (PUT again with the same principal and role is a no-op, anything else is 409),
// and one principal holds one role at one scope at most once (409 RoleAssignmentExists).
// Strongbox's own rule: the last Owner at subscription scope cannot be deleted, so nobody can lock everyone
// out of managing a subscription's access. Who may call what is decided before this code runs
// (roleAssignments/* in roles.ts; only Owner may write or delete).
import { z } from 'zod';
import { ApiError } from '../controlPlane/apiErrors';
import type { ControlPlaneDeps } from '../controlPlane/controlPlanePorts';
import { PRINCIPAL_ID, ROLE_ASSIGNMENTS_TABLE } from '../controlPlane/names';
import { encodeSkipToken, withSkipToken, type Page, type PageRequest } from '../controlPlane/paging';
import { checkPreconditions } from '../controlPlane/preconditions';
import { parseBody, requiredString } from '../controlPlane/requestValidation';
import { MAX_CONFLICT_RETRIES, vaultService, type Preconditions } from '../controlPlane/vaultService';
import { hasErrorCode } from '../errors';
import { STATE_ERROR, type TransactionOperation } from '../state/stateStore';
import {
  allRows,
  assignmentKeys,
  formatScope,
  grantKeyOf,
  type RoleAssignment,
  type Scope,
} from './roleAssignments';
import { ROLES, type Role } from './roles';

export const RoleAssignmentBodySchema = z.strictObject(
  {
    properties: z.strictObject(
      {
        principalId: requiredString('the principal id').regex(PRINCIPAL_ID, {
          error:
            "must be 1-128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit (an Entra object id or a local name)",
        }),
        role: z.enum(ROLES, {
          error: (i) => (i.input === undefined ? 'is required' : `must be one of ${ROLES.join(', ')}`),
        }),
      },
      { error: (i) => (i.input === undefined ? 'is required' : 'must be an object') },
    ),
  },
  { error: 'must be a JSON object' },
);

export interface RoleAssignmentResource {
  readonly id: string;
  readonly name: string;
  readonly type: 'Strongbox/roleAssignments';
  readonly etag: string;
  readonly properties: {
    readonly principalId: string;
    readonly role: Role;
    readonly scope: string;
    readonly createdTime: string;
  };
}

export function roleAssignmentResourceOf(a: RoleAssignment, etag: string): RoleAssignmentResource {
  const name = a.assignmentName ?? '';
  return {
    id: `${a.scope}/roleAssignments/${name}`,
    name,
    type: 'Strongbox/roleAssignments',
    etag,
    properties: { principalId: a.principalId, role: a.role, scope: a.scope, createdTime: a.createdTime },
  };
}

export interface RoleAssignmentService {
  /**
   * At a vault: that vault's assignments. At a subscription: every assignment in the subscription, at
   * any scope (as ARM lists a subscription's role assignments); each names its `scope`.
   */
  list(scope: Scope, page: PageRequest): Promise<Page<RoleAssignmentResource>>;
  get(scope: Scope, name: string): Promise<RoleAssignmentResource>;
  put(
    scope: Scope,
    name: string,
    body: unknown,
    pre?: Preconditions,
  ): Promise<{ created: boolean; resource: RoleAssignmentResource }>;
  delete(scope: Scope, name: string, pre?: Preconditions): Promise<void>;
}

function notFound(name: string): ApiError {
  return new ApiError(
    'RoleAssignmentNotFound',
    `The role assignment '${name}' was not found at this scope.`,
    'roleAssignmentName',
  );
}

const lostRace = (err: unknown) =>
  hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) ||
  hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS) ||
  hasErrorCode(err, STATE_ERROR.NOT_FOUND);

export function roleAssignmentService(deps: ControlPlaneDeps): RoleAssignmentService {
  const { store, clock } = deps;
  const T = ROLE_ASSIGNMENTS_TABLE;
  const vaults = vaultService(deps);

  /** A vault scope must name a live vault (404 VaultNotFound, 409 VaultIsBeingDeleted); returns the scope
   * with the vault's own spelling. */
  const liveScope = async (scope: Scope): Promise<Scope> => {
    if (scope.vaultName === undefined) return scope;
    const { doc } = await vaults.read(scope.subscriptionId, scope.vaultName);
    return { subscriptionId: scope.subscriptionId, vaultName: doc.name };
  };

  const readNamed = (scope: Scope, name: string) =>
    store.get<RoleAssignment>(
      T,
      assignmentKeys.partition(scope.subscriptionId),
      assignmentKeys.name(scope, name),
    );

  return {
    async list(scope, page) {
      await liveScope(scope);
      const result = await withSkipToken(page, () =>
        store.query<RoleAssignment>(T, assignmentKeys.partition(scope.subscriptionId), {
          rowKeyPrefix: assignmentKeys.namePrefix(scope.vaultName === undefined ? undefined : scope),
          pageSize: page.top,
          ...(page.storeToken !== undefined ? { continuationToken: page.storeToken } : {}),
        }),
      );
      const value = result.items.map((e) => roleAssignmentResourceOf(e.value, e.etag));
      const skipToken = encodeSkipToken(result.continuationToken);
      return skipToken === undefined ? { value } : { value, skipToken };
    },

    async get(scope, name) {
      await liveScope(scope);
      const row = await readNamed(scope, name);
      if (!row) throw notFound(name);
      return roleAssignmentResourceOf(row.value, row.etag);
    },

    async put(rawScope, name, rawBody, pre = {}) {
      const { properties } = parseBody(RoleAssignmentBodySchema, rawBody);
      const scope = await liveScope(rawScope);
      const pk = assignmentKeys.partition(scope.subscriptionId);
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        const existing = await readNamed(scope, name);
        checkPreconditions(pre, existing?.etag);
        if (existing) {
          const a = existing.value;
          // Immutable, as in ARM: the same PUT again is a no-op; a different principal or role is refused.
          if (
            a.principalId.toLowerCase() === properties.principalId.toLowerCase() &&
            a.role === properties.role
          )
            return { created: false, resource: roleAssignmentResourceOf(a, existing.etag) };
          const field = a.role === properties.role ? 'properties.principalId' : 'properties.role';
          throw new ApiError(
            'PropertyCannotBeChanged',
            `${field} cannot be changed: a role assignment is immutable. Delete '${a.assignmentName ?? name}' and create another.`,
            field,
          );
        }
        const grantKey = assignmentKeys.grant(properties.principalId, scope, properties.role);
        const grant = await store.get<RoleAssignment>(T, pk, grantKey);
        if (grant?.value.assignmentName !== undefined) {
          throw new ApiError(
            'RoleAssignmentExists',
            `${properties.principalId} already holds '${properties.role}' at ${formatScope(scope)} (role assignment '${grant.value.assignmentName}').`,
            'properties.principalId',
          );
        }
        const doc: RoleAssignment = {
          principalId: properties.principalId,
          role: properties.role,
          scope: formatScope(scope),
          createdTime: clock.now().toISOString(),
          assignmentName: name,
        };
        try {
          const [, etag] = await store.transact(T, pk, [
            // A grant written before names existed is adopted: it gets this name.
            grant
              ? { kind: 'update', rowKey: grantKey, value: doc, etag: grant.etag }
              : { kind: 'insert', rowKey: grantKey, value: doc },
            { kind: 'insert', rowKey: assignmentKeys.name(scope, name), value: doc },
          ]);
          return { created: true, resource: roleAssignmentResourceOf(doc, etag ?? '') };
        } catch (err) {
          // Lost a race (the name or the grant appeared): read again; the next round answers it.
          if (!lostRace(err)) throw err;
        }
      }
      throw new ApiError(
        'ConcurrencyConflict',
        'The role assignment was changed by concurrent requests; retry.',
      );
    },

    async delete(rawScope, name, pre = {}) {
      const scope = await liveScope(rawScope);
      const pk = assignmentKeys.partition(scope.subscriptionId);
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        const row = await readNamed(scope, name);
        if (!row) throw notFound(name);
        checkPreconditions(pre, row.etag);
        const a = row.value;
        const ops: TransactionOperation[] = [{ kind: 'delete', rowKey: row.rowKey }];
        if (await store.get(T, pk, grantKeyOf(a))) ops.push({ kind: 'delete', rowKey: grantKeyOf(a) });
        if (scope.vaultName === undefined && a.role === 'Owner') {
          // The last subscription Owner stays. To hold under concurrency, the transaction also rewrites one
          // other Owner's row under its ETag: of two DELETEs that each saw the other's Owner, the second
          // commit fails (its witness was deleted or rewritten), re-reads, and then sees it is the last.
          const others = (
            await allRows(store, scope.subscriptionId, assignmentKeys.namePrefix(scope), [
              { field: 'role', op: 'eq', value: 'Owner' },
            ])
          ).filter((e) => e.rowKey !== row.rowKey);
          const witness = others[0];
          if (witness === undefined) {
            throw new ApiError(
              'LastOwnerCannotBeDeleted',
              `'${a.assignmentName ?? name}' is the last Owner of subscription '${scope.subscriptionId}'; assign another Owner first, so that someone can still manage access.`,
              'roleAssignmentName',
            );
          }
          ops.push({ kind: 'update', rowKey: witness.rowKey, value: witness.value, etag: witness.etag });
        }
        try {
          await store.transact(T, pk, ops);
          return;
        } catch (err) {
          // Lost a race: read again; the next round re-checks the ETag, existence and the last-Owner rule.
          if (!lostRace(err)) throw err;
        }
      }
      throw new ApiError(
        'ConcurrencyConflict',
        'The role assignment was changed by concurrent requests; retry.',
      );
    },
  };
}
