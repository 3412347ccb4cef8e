// Protected items: the read model the durable workflows (register, configure protection, backup, stop
// protection, delete data) update, and the API reads. An item has one policy at a time. Every change that
// touches a count (vault's items, policy's items) is one transaction with that row's ETag, so counts are
// exact and a vault or policy delete can never miss a concurrent registration.
import { STATE_ERROR, type TransactionOperation } from '../state/stateStore';
import { hasErrorCode } from '../errors';
import { ApiError } from './apiErrors';
import type { ControlPlaneDeps } from './controlPlanePorts';
import { CONTROL_PLANE_TABLE, NAME_RULES, rowKeys, sameName } from './names';
import { encodeSkipToken, withSkipToken, type Page, type PageRequest } from './paging';
import type { PolicyDoc } from './policyService';
import { MAX_CONFLICT_RETRIES, vaultService } from './vaultService';

export const PROTECTION_STATES = [
  'Registered',
  'ProtectedInitialBackupPending',
  'Protected',
  'ProtectionStopped',
  'Error',
  /** Backup data deleted under soft delete: kept, and restorable after an undelete, until `purgeAfter`. */
  'SoftDeleted',
] as const;
export type ProtectionState = (typeof PROTECTION_STATES)[number];

/** How the portal words each state. */
export const PROTECTION_STATE_LABEL: Readonly<Record<ProtectionState, string>> = {
  Registered: 'Registered',
  ProtectedInitialBackupPending: 'Protected (initial backup pending)',
  Protected: 'Protected',
  ProtectionStopped: 'Protection stopped',
  Error: 'Error',
  SoftDeleted: 'Soft deleted',
};

export interface ItemError {
  readonly code: string;
  readonly message: string;
}

export interface ItemDoc {
  readonly name: string;
  readonly vaultName: string;
  readonly subscriptionId: string;
  /** What is backed up, e.g. an Azure VM resource id or a local fabric VM id. */
  readonly sourceId: string;
  readonly friendlyName: string;
  readonly workloadType: 'VM';
  /** A top-level string, so job and dashboard queries can filter on it. */
  readonly protectionState: ProtectionState;
  /** Only meaningful in ProtectionStopped: true when the backup data was kept. */
  readonly retainedData: boolean;
  readonly policyName?: string;
  readonly lastBackupTime?: string;
  readonly lastRecoveryPointTime?: string;
  readonly recoveryPointCount: number;
  readonly error?: ItemError;
  readonly createdTime: string;
  readonly updatedTime: string;
  /** Set while the item is being removed; such an item is treated as gone. */
  readonly removing?: boolean;
  /** SoftDeleted only: when its backup data was deleted, and when it will be purged for good. */
  readonly deletedTime?: string;
  readonly purgeAfter?: string;
  /** SoftDeleted only: the purge has begun; the item can no longer be undeleted. */
  readonly purging?: boolean;
  readonly [field: string]: unknown;
}

/** What a workflow reports about an item. */
export type ItemEvent =
  | { readonly kind: 'configureProtection'; readonly policyName: string }
  | { readonly kind: 'backupSucceeded'; readonly at: string }
  | { readonly kind: 'failed'; readonly error: ItemError }
  | { readonly kind: 'stopProtection'; readonly retainData: boolean }
  | { readonly kind: 'resumeProtection'; readonly policyName: string }
  | { readonly kind: 'softDelete'; readonly at: string; readonly purgeAfter: string }
  | { readonly kind: 'undelete' }
  /** The retention pass is about to purge a soft-deleted item: from now on it cannot be undeleted. */
  | { readonly kind: 'beginPurge' };

/** Allowed state changes (pure). Returns the next state or a reason for refusing. */
export function nextProtectionState(
  current: ProtectionState,
  event: ItemEvent['kind'],
  hasRecoveryPoints: boolean,
): { ok: true; state: ProtectionState } | { ok: false; reason: string } {
  if (current === 'SoftDeleted') {
    // Nothing runs on a soft-deleted item until it is undeleted; a repeated soft delete is a no-op.
    if (event === 'undelete') return { ok: true, state: 'ProtectionStopped' };
    if (event === 'softDelete' || event === 'beginPurge') return { ok: true, state: 'SoftDeleted' };
    return { ok: false, reason: 'the item is soft deleted: undelete it first' };
  }
  switch (event) {
    case 'softDelete':
      if (current === 'Registered') return { ok: false, reason: 'the item has no backup data' };
      return { ok: true, state: 'SoftDeleted' };
    case 'undelete':
      return { ok: false, reason: 'only a soft-deleted item can be undeleted' };
    case 'beginPurge':
      return { ok: false, reason: 'only a soft-deleted item is purged' };
    case 'configureProtection':
      // Changing the policy of a protected item keeps its state; a first protection waits for its first backup.
      if (current === 'Registered') return { ok: true, state: 'ProtectedInitialBackupPending' };
      if (current === 'Protected' || current === 'ProtectedInitialBackupPending' || current === 'Error') {
        return { ok: true, state: current };
      }
      return { ok: false, reason: 'use resumeProtection for an item whose protection was stopped' };
    case 'resumeProtection':
      if (current !== 'ProtectionStopped') return { ok: false, reason: 'only a stopped item can be resumed' };
      return { ok: true, state: hasRecoveryPoints ? 'Protected' : 'ProtectedInitialBackupPending' };
    case 'backupSucceeded':
      if (current === 'Registered' || current === 'ProtectionStopped') {
        return { ok: false, reason: `a backup cannot complete for an item in state ${current}` };
      }
      return { ok: true, state: 'Protected' };
    case 'failed':
      return current === 'Registered' || current === 'ProtectionStopped'
        ? { ok: false, reason: `an item in state ${current} runs no backups` }
        : { ok: true, state: 'Error' };
    case 'stopProtection':
      if (current === 'Registered' || current === 'ProtectionStopped') {
        return { ok: false, reason: `the item is not protected (state ${current})` };
      }
      return { ok: true, state: 'ProtectionStopped' };
  }
}

export interface ProtectedItemResource {
  readonly id: string;
  readonly name: string;
  readonly type: 'Strongbox/vaults/protectedItems';
  readonly etag: string;
  readonly properties: Omit<ItemDoc, 'name' | 'vaultName' | 'subscriptionId'> & {
    readonly protectionStatus: string;
  };
}

export function itemResourceOf(doc: ItemDoc, etag: string): ProtectedItemResource {
  const { name, vaultName, subscriptionId, ...rest } = doc;
  const status =
    doc.protectionState === 'ProtectionStopped'
      ? `Protection stopped (${doc.retainedData ? 'backup data retained' : 'backup data deleted'})`
      : doc.protectionState === 'SoftDeleted'
        ? `Soft deleted (purged after ${doc.purgeAfter ?? 'the soft-delete period'})`
        : PROTECTION_STATE_LABEL[doc.protectionState];
  return {
    id: `/subscriptions/${subscriptionId}/vaults/${vaultName}/protectedItems/${name}`,
    name,
    type: 'Strongbox/vaults/protectedItems',
    etag,
    properties: { ...rest, protectionStatus: status },
  };
}

export function itemNotFound(item: string): ApiError {
  return new ApiError('ProtectedItemNotFound', `The protected item '${item}' was not found.`, 'itemName');
}

export interface RegisterItemInput {
  readonly name: string;
  readonly sourceId: string;
  readonly friendlyName: string;
}

export interface ItemService {
  register(sub: string, vault: string, input: RegisterItemInput): Promise<ProtectedItemResource>;
  apply(sub: string, vault: string, item: string, event: ItemEvent): Promise<ProtectedItemResource>;
  /** Removes an item whose data is gone (after DeleteBackupData deleted its recovery points). */
  remove(sub: string, vault: string, item: string): Promise<void>;
  read(sub: string, vault: string, item: string): Promise<{ doc: ItemDoc; etag: string }>;
  get(sub: string, vault: string, item: string): Promise<ProtectedItemResource>;
  list(sub: string, vault: string, page: PageRequest): Promise<Page<ProtectedItemResource>>;
}

export function itemService(deps: ControlPlaneDeps): ItemService {
  const { store, clock } = deps;
  const T = CONTROL_PLANE_TABLE;
  const vaults = vaultService(deps);

  const read = async (sub: string, vault: string, item: string) => {
    await vaults.read(sub, vault);
    const row = await store.get<ItemDoc>(T, rowKeys.partition(sub), rowKeys.item(vault, item));
    if (!row || row.value.removing === true) throw itemNotFound(item);
    return { doc: row.value, etag: row.etag };
  };

  const policyRow = async (pk: string, vault: string, policy: string) => {
    const row = await store.get<PolicyDoc>(T, pk, rowKeys.policy(vault, policy));
    if (!row || row.value.deleting === true)
      throw new ApiError(
        'BackupPolicyNotFound',
        `The backup policy '${policy}' was not found.`,
        'policyName',
      );
    return row;
  };

  /** Retries `attempt` while it loses races on shared rows. */
  const retrying = async <R>(attempt: () => Promise<R>): Promise<R> => {
    for (let i = 0; i < MAX_CONFLICT_RETRIES; i++) {
      try {
        return await attempt();
      } catch (err) {
        if (!hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED)) throw err;
      }
    }
    throw new ApiError('ConcurrencyConflict', 'The item was changed by concurrent requests; retry.');
  };

  return {
    read,
    register(sub, vault, input) {
      if (!NAME_RULES.itemName.pattern.test(input.name)) {
        throw new ApiError('InvalidResourceName', `itemName ${NAME_RULES.itemName.rule}`, 'itemName');
      }
      const pk = rowKeys.partition(sub);
      return retrying(async () => {
        const v = await vaults.read(sub, vault);
        if (v.doc.provisioningState === 'Deleting')
          throw new ApiError('VaultIsBeingDeleted', `The vault '${v.doc.name}' is being deleted.`);
        const now = clock.now().toISOString();
        const doc: ItemDoc = {
          name: input.name,
          vaultName: v.doc.name,
          subscriptionId: v.doc.subscriptionId,
          sourceId: input.sourceId,
          friendlyName: input.friendlyName,
          workloadType: 'VM',
          protectionState: 'Registered',
          retainedData: false,
          recoveryPointCount: 0,
          createdTime: now,
          updatedTime: now,
        };
        try {
          const [, etag] = await store.transact(T, pk, [
            {
              kind: 'update',
              rowKey: rowKeys.vault(vault),
              value: { ...v.doc, protectedItemCount: v.doc.protectedItemCount + 1 },
              etag: v.etag,
            },
            { kind: 'insert', rowKey: rowKeys.item(vault, input.name), value: doc },
          ]);
          return itemResourceOf(doc, etag ?? '');
        } catch (err) {
          if (hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS)) {
            throw new ApiError(
              'ResourceAlreadyExists',
              `The item '${input.name}' is already registered.`,
              'itemName',
            );
          }
          throw err;
        }
      });
    },
    apply(sub, vault, item, event) {
      const pk = rowKeys.partition(sub);
      return retrying(async () => {
        const { doc, etag } = await read(sub, vault, item);
        const next = nextProtectionState(doc.protectionState, event.kind, doc.recoveryPointCount > 0);
        if (!next.ok)
          throw new ApiError('InvalidStateTransition', `Cannot ${event.kind} '${doc.name}': ${next.reason}.`);
        if (event.kind === 'undelete' && doc.purging === true) {
          throw new ApiError(
            'InvalidStateTransition',
            `Cannot undelete '${doc.name}': its soft-delete period ended and its backup data is being purged.`,
          );
        }
        const now = clock.now().toISOString();
        const ops: TransactionOperation[] = [];
        let updated: ItemDoc = { ...doc, protectionState: next.state, updatedTime: now };
        // Policy bookkeeping: one policy at a time, and each policy knows how many items use it.
        const newPolicy =
          event.kind === 'configureProtection' || event.kind === 'resumeProtection'
            ? event.policyName
            : undefined;
        const stops = event.kind === 'stopProtection' || event.kind === 'softDelete';
        const leavesPolicy =
          stops ||
          (newPolicy !== undefined && doc.policyName !== undefined && !sameName(newPolicy, doc.policyName));
        if (
          newPolicy !== undefined &&
          (doc.policyName === undefined || !sameName(newPolicy, doc.policyName))
        ) {
          const p = await policyRow(pk, vault, newPolicy);
          ops.push({
            kind: 'update',
            rowKey: p.rowKey,
            value: { ...p.value, protectedItemCount: p.value.protectedItemCount + 1 },
            etag: p.etag,
          });
          updated = { ...updated, policyName: p.value.name };
        }
        if (leavesPolicy && doc.policyName !== undefined) {
          const old = await store.get<PolicyDoc>(T, pk, rowKeys.policy(vault, doc.policyName));
          if (old) {
            ops.push({
              kind: 'update',
              rowKey: old.rowKey,
              value: { ...old.value, protectedItemCount: Math.max(0, old.value.protectedItemCount - 1) },
              etag: old.etag,
            });
          }
          if (stops) {
            const { policyName: _dropped, ...rest } = updated;
            updated = rest;
          }
        }
        if (event.kind === 'stopProtection') updated = { ...updated, retainedData: event.retainData };
        if (event.kind === 'softDelete' && doc.protectionState !== 'SoftDeleted') {
          updated = { ...updated, retainedData: true, deletedTime: event.at, purgeAfter: event.purgeAfter };
        }
        if (event.kind === 'beginPurge') updated = { ...updated, purging: true };
        if (event.kind === 'undelete') {
          const { deletedTime: _d, purgeAfter: _p, ...rest } = updated;
          updated = { ...rest, retainedData: true };
        }
        if (event.kind === 'backupSucceeded') {
          const { error: _cleared, ...rest } = updated;
          updated = { ...rest, lastBackupTime: event.at };
        }
        if (event.kind === 'failed') updated = { ...updated, error: event.error };
        ops.push({ kind: 'update', rowKey: rowKeys.item(vault, item), value: updated, etag });
        const etags = await store.transact(T, pk, ops);
        return itemResourceOf(updated, etags[etags.length - 1] ?? '');
      });
    },
    remove(sub, vault, item) {
      const pk = rowKeys.partition(sub);
      return retrying(async () => {
        const v = await vaults.read(sub, vault);
        // Read the raw row: a remove that crashed after marking the item must be able to finish.
        const row = await store.get<ItemDoc>(T, pk, rowKeys.item(vault, item));
        if (!row) throw itemNotFound(item);
        const { value: doc, etag } = row;
        const rp = await store.query(T, pk, { rowKeyPrefix: rowKeys.rpPrefix(vault, item), pageSize: 1 });
        if (rp.items.length > 0 || doc.recoveryPointCount > 0) {
          throw new ApiError(
            'InvalidStateTransition',
            `The item '${doc.name}' still has recovery points; delete its backup data first.`,
          );
        }
        // Mark first, conditional on the ETag that showed no recovery points: adding a point rewrites the item
        // row with its ETag, so none can slip in before the (unconditional) transactional delete.
        if (doc.removing !== true)
          await store.update(T, pk, rowKeys.item(vault, item), { ...doc, removing: true }, etag);
        const ops: TransactionOperation[] = [
          { kind: 'delete', rowKey: rowKeys.item(vault, item) },
          {
            kind: 'update',
            rowKey: rowKeys.vault(vault),
            value: { ...v.doc, protectedItemCount: Math.max(0, v.doc.protectedItemCount - 1) },
            etag: v.etag,
          },
        ];
        if (doc.policyName !== undefined) {
          const p = await store.get<PolicyDoc>(T, pk, rowKeys.policy(vault, doc.policyName));
          if (p)
            ops.push({
              kind: 'update',
              rowKey: p.rowKey,
              value: { ...p.value, protectedItemCount: Math.max(0, p.value.protectedItemCount - 1) },
              etag: p.etag,
            });
        }
        await store.transact(T, pk, ops);
      });
    },
    async get(sub, vault, item) {
      const { doc, etag } = await read(sub, vault, item);
      return itemResourceOf(doc, etag);
    },
    async list(sub, vault, page) {
      await vaults.read(sub, vault);
      const result = await withSkipToken(page, () =>
        store.query<ItemDoc>(T, rowKeys.partition(sub), {
          rowKeyPrefix: rowKeys.itemPrefix(vault),
          pageSize: page.top,
          ...(page.storeToken !== undefined ? { continuationToken: page.storeToken } : {}),
        }),
      );
      const value = result.items
        .filter((e) => e.value.removing !== true)
        .map((e) => itemResourceOf(e.value, e.etag));
      const skipToken = encodeSkipToken(result.continuationToken);
      return skipToken === undefined ? { value } : { value, skipToken };
    },
  };
}
