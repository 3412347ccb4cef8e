// Backup policies of a vault. The policy itself is validated by shared/policy (Azure's limits); this
// service owns the envelope (`{"properties": <policy>}`), the per-vault limit and the "in use" rule.
// Creating or deleting a policy rewrites the vault row in the same transaction, so it can never race a
// vault delete (which is conditional on the vault row's ETag).
import { z } from 'zod';
import { validatePolicy, type Policy } from '../policy/policy';
import { STATE_ERROR } from '../state/stateStore';
import { hasErrorCode } from '../errors';
import { ApiError } from './apiErrors';
import { checkPreconditions } from './preconditions';
import type { ControlPlaneDeps } from './controlPlanePorts';
import { CONTROL_PLANE_TABLE, rowKeys } from './names';
import { encodeSkipToken, withSkipToken, type Page, type PageRequest } from './paging';
import { invalidBody, parseBody } from './requestValidation';
import { retentionReduction } from '../policy/retentionReduction';
import {
  MAX_CONFLICT_RETRIES,
  MAX_POLICIES_PER_VAULT,
  refuseIfImmutable,
  vaultIsBeingDeleted,
  vaultService,
  type Preconditions,
  type VaultDoc,
} from './vaultService';

export interface PolicyDoc {
  readonly name: string;
  readonly vaultName: string;
  readonly subscriptionId: string;
  readonly policy: Policy;
  /** Items protected with this policy; a policy in use cannot be deleted. */
  readonly protectedItemCount: number;
  readonly createdTime: string;
  readonly updatedTime: string;
  /** Set by a DELETE in progress; such a policy is treated as gone. */
  readonly deleting?: boolean;
  readonly [field: string]: unknown;
}

export interface PolicyResource {
  readonly id: string;
  readonly name: string;
  readonly type: 'Strongbox/vaults/backupPolicies';
  readonly etag: string;
  readonly properties: Policy & {
    readonly protectedItemsCount: number;
    readonly createdTime: string;
    readonly updatedTime: string;
  };
}

/** The envelope only; `properties` is checked by validatePolicy so its messages name Azure's rules. */
const PolicyBodySchema = z.strictObject(
  { properties: z.unknown().refine((v) => v !== undefined, { error: 'is required' }) },
  { error: 'must be a JSON object' },
);

export function policyResourceOf(doc: PolicyDoc, etag: string): PolicyResource {
  return {
    id: `/subscriptions/${doc.subscriptionId}/vaults/${doc.vaultName}/backupPolicies/${doc.name}`,
    name: doc.name,
    type: 'Strongbox/vaults/backupPolicies',
    etag,
    properties: {
      ...doc.policy,
      protectedItemsCount: doc.protectedItemCount,
      createdTime: doc.createdTime,
      updatedTime: doc.updatedTime,
    },
  };
}

function policyNotFound(policy: string): ApiError {
  return new ApiError('BackupPolicyNotFound', `The backup policy '${policy}' was not found.`, 'policyName');
}

/** Parses `{"properties": <policy>}`; every issue is reported at `properties.<path>`. */
export function parsePolicyBody(body: unknown): Policy {
  const envelope = parseBody(PolicyBodySchema, body);
  const result = validatePolicy(envelope.properties);
  if (result.ok) return result.policy;
  throw invalidBody(
    result.issues.map((issue) => {
      const target = issue.path === '' ? 'properties' : `properties.${issue.path}`;
      const rule =
        issue.path === ''
          ? issue.message.replace(/^policy\s*/, '')
          : issue.message.slice(issue.path.length).trimStart();
      return { code: 'InvalidRequestBody' as const, target, message: `${target} ${rule}` };
    }),
  );
}

export interface PolicyService {
  put(
    sub: string,
    vault: string,
    policy: string,
    body: unknown,
    pre?: Preconditions,
  ): Promise<{ created: boolean; resource: PolicyResource }>;
  get(sub: string, vault: string, policy: string): Promise<PolicyResource>;
  read(sub: string, vault: string, policy: string): Promise<{ doc: PolicyDoc; etag: string }>;
  list(sub: string, vault: string, page: PageRequest): Promise<Page<PolicyResource>>;
  delete(sub: string, vault: string, policy: string, pre?: Preconditions): Promise<void>;
}

export function policyService(deps: ControlPlaneDeps): PolicyService {
  const { store, clock } = deps;
  const T = CONTROL_PLANE_TABLE;
  const vaults = vaultService(deps);

  const liveVault = async (sub: string, vault: string): Promise<{ doc: VaultDoc; etag: string }> => {
    // read() refuses a vault being deleted (409 VaultIsBeingDeleted); the check is repeated here because a
    // new policy must never land in one.
    const v = await vaults.read(sub, vault);
    if (v.doc.provisioningState === 'Deleting') throw vaultIsBeingDeleted(v.doc.name);
    return v;
  };

  const read = async (sub: string, vault: string, policy: string) => {
    await vaults.read(sub, vault);
    const row = await store.get<PolicyDoc>(T, rowKeys.partition(sub), rowKeys.policy(vault, policy));
    if (!row || row.value.deleting === true) throw policyNotFound(policy);
    return { doc: row.value, etag: row.etag };
  };

  return {
    read,
    async put(sub, vault, name, body, pre = {}) {
      const policy = parsePolicyBody(body);
      const pk = rowKeys.partition(sub);
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        const v = await liveVault(sub, vault);
        const existing = await store.get<PolicyDoc>(T, pk, rowKeys.policy(vault, name));
        checkPreconditions(pre, existing?.etag);
        const now = clock.now().toISOString();
        try {
          if (existing) {
            // Changing a policy in use is allowed (Azure applies it to every item that uses it).
            // A PUT over a half-deleted policy revives it: the client wants the policy to exist.
            const reduced = retentionReduction(existing.value.policy, policy);
            if (reduced !== undefined)
              refuseIfImmutable(
                v.doc,
                `shortening ${reduced} of policy '${existing.value.name}'`,
                `properties.${reduced}`,
              );
            const { deleting: _deleting, ...kept } = existing.value;
            const doc: PolicyDoc = { ...kept, policy, updatedTime: now };
            const etag = await store.update(T, pk, rowKeys.policy(vault, name), doc, existing.etag);
            return { created: false, resource: policyResourceOf(doc, etag) };
          }
          if (v.doc.policyCount >= MAX_POLICIES_PER_VAULT) {
            throw new ApiError(
              'BackupPolicyLimitExceeded',
              `The vault already has ${MAX_POLICIES_PER_VAULT} backup policies, the most allowed.`,
              'policyName',
            );
          }
          const doc: PolicyDoc = {
            name,
            vaultName: v.doc.name,
            subscriptionId: v.doc.subscriptionId,
            policy,
            protectedItemCount: 0,
            createdTime: now,
            updatedTime: now,
          };
          const [, etag] = await store.transact(T, pk, [
            {
              kind: 'update',
              rowKey: rowKeys.vault(vault),
              value: { ...v.doc, policyCount: v.doc.policyCount + 1 },
              etag: v.etag,
            },
            { kind: 'insert', rowKey: rowKeys.policy(vault, name), value: doc },
          ]);
          return { created: true, resource: policyResourceOf(doc, etag ?? '') };
        } catch (err) {
          const raced =
            hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) ||
            hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS);
          if (raced && pre.ifMatch === undefined) continue;
          if (raced) checkPreconditions(pre, undefined);
          throw err;
        }
      }
      throw new ApiError('ConcurrencyConflict', 'The policy was changed by concurrent requests; retry.');
    },
    async get(sub, vault, policy) {
      const { doc, etag } = await read(sub, vault, policy);
      return policyResourceOf(doc, etag);
    },
    async list(sub, vault, page) {
      await vaults.read(sub, vault);
      const result = await withSkipToken(page, () =>
        store.query<PolicyDoc>(T, rowKeys.partition(sub), {
          rowKeyPrefix: rowKeys.policyPrefix(vault),
          pageSize: page.top,
          ...(page.storeToken !== undefined ? { continuationToken: page.storeToken } : {}),
        }),
      );
      const value = result.items
        .filter((e) => e.value.deleting !== true)
        .map((e) => policyResourceOf(e.value, e.etag));
      const skipToken = encodeSkipToken(result.continuationToken);
      return skipToken === undefined ? { value } : { value, skipToken };
    },
    async delete(sub, vault, name, pre = {}) {
      const pk = rowKeys.partition(sub);
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        const v = await vaults.read(sub, vault);
        const { doc, etag } = await read(sub, vault, name);
        checkPreconditions(pre, etag);
        // Azure: a policy that protects items cannot be deleted; move or stop protecting them first.
        if (doc.protectedItemCount > 0) {
          throw new ApiError(
            'BackupPolicyInUse',
            `The backup policy '${doc.name}' protects ${doc.protectedItemCount} item(s); change their policy or stop protection first.`,
            'policyName',
          );
        }
        try {
          // Mark first (conditional on the ETag that showed no items), so an item cannot take the policy
          // between the check and the delete: protecting an item rewrites the policy row with its ETag and
          // refuses a marked policy. The transaction's delete itself cannot be conditional (stateStore.ts).
          if (doc.deleting !== true)
            await store.update(T, pk, rowKeys.policy(vault, name), { ...doc, deleting: true }, etag);
          await store.transact(T, pk, [
            {
              kind: 'update',
              rowKey: rowKeys.vault(vault),
              value: { ...v.doc, policyCount: Math.max(0, v.doc.policyCount - 1) },
              etag: v.etag,
            },
            { kind: 'delete', rowKey: rowKeys.policy(vault, name) },
          ]);
          return;
        } catch (err) {
          const raced =
            hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) || hasErrorCode(err, STATE_ERROR.NOT_FOUND);
          if (raced && pre.ifMatch === undefined) continue;
          if (raced) checkPreconditions(pre, undefined);
          throw err;
        }
      }
      throw new ApiError('ConcurrencyConflict', 'The policy was changed by concurrent requests; retry.');
    },
  };
}
