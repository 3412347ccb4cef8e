// Vaults: create/update, read, list, delete. All of a subscription's control-plane rows share one table
// partition, so each change that spans rows (vault + DefaultPolicy + counter) is one atomic transaction.
import { z } from 'zod';
import { roleAssignmentStore } from '../auth/roleAssignments';
import { defaultPolicy } from '../policy/policy';
import { MAX_TRANSACTION_OPERATIONS, STATE_ERROR, type TransactionOperation } from '../state/stateStore';
import { hasErrorCode } from '../errors';
import { checkPreconditions, type Preconditions } from './preconditions';
import { ApiError } from './apiErrors';
import type { ControlPlaneDeps } from './controlPlanePorts';
import { CONTROL_PLANE_TABLE, rowKeys } from './names';
import { type Page, type PageRequest, encodeSkipToken, withSkipToken } from './paging';
import { parseBody } from './requestValidation';
import type { PolicyDoc } from './policyService';
import { queryAll } from '../state/queryAll';

/** Azure: "500 Recovery Services vaults per subscription per region"; Strongbox counts per subscription. */
export const MAX_VAULTS_PER_SUBSCRIPTION = 500;
/** Azure: at most 200 backup policies per vault. */
export const MAX_POLICIES_PER_VAULT = 200;
export const DEFAULT_POLICY_NAME = 'DefaultPolicy';
/** Attempts when a write loses a race on a shared row (the vault counter) before answering 409. */
export const MAX_CONFLICT_RETRIES = 8;

export const STORAGE_REDUNDANCIES = ['LRS', 'ZRS', 'GRS'] as const;

/**
 * Soft delete (Azure Backup's, reliability row 12): deleting an item's backup data keeps it, restorable
 * after an undelete, for `retentionDays`, then purges it. `AlwaysOn` cannot be turned off again.
 */
export const SOFT_DELETE_STATES = ['Enabled', 'Disabled', 'AlwaysOn'] as const;
export type SoftDeleteState = (typeof SOFT_DELETE_STATES)[number];
/** Azure: 14 days by default, configurable from 14 to 180. */
export const SOFT_DELETE_DEFAULT_DAYS = 14;
export const SOFT_DELETE_MIN_DAYS = 14;
export const SOFT_DELETE_MAX_DAYS = 180;

export interface SoftDeleteSettings {
  readonly state: SoftDeleteState;
  readonly retentionDays: number;
}

export const DEFAULT_SOFT_DELETE: SoftDeleteSettings = {
  state: 'Enabled',
  retentionDays: SOFT_DELETE_DEFAULT_DAYS,
};

/**
 * Immutable vault (Azure's; reliability row 11): while `Enabled` or `Locked`, nothing may shorten how
 * long backup data is kept: no "delete backup data", no shorter policy retention, no weaker soft
 * delete. `Locked` cannot be left. Default `Disabled`, as in Azure.
 */
export const IMMUTABILITY_STATES = ['Disabled', 'Enabled', 'Locked'] as const;
export type ImmutabilityState = (typeof IMMUTABILITY_STATES)[number];

export function immutabilityOf(doc: { readonly immutability?: ImmutabilityState }): ImmutabilityState {
  return doc.immutability ?? 'Disabled';
}

/** 409 BlockedByImmutableVault unless the vault lets data be deleted or kept for less. */
export function refuseIfImmutable(doc: VaultDoc, what: string, target: string): void {
  const state = immutabilityOf(doc);
  if (state === 'Disabled') return;
  throw new ApiError(
    'BlockedByImmutableVault',
    `The vault '${doc.name}' is immutable (${state}): ${what} is not allowed.${state === 'Enabled' ? ' Disable immutability on the vault first.' : ' A locked vault stays immutable.'}`,
    target,
  );
}

/** A vault row written before soft delete existed has it on, with the default period. */
export function softDeleteOf(doc: { readonly softDelete?: SoftDeleteSettings }): SoftDeleteSettings {
  return doc.softDelete ?? DEFAULT_SOFT_DELETE;
}
export type StorageRedundancy = (typeof STORAGE_REDUNDANCIES)[number];

/**
 * Where each redundancy keeps data (Azure reliability-backup.md). GRS is the only one whose data leaves
 * the region, so the API says so in words (reliability row 16).
 */
export const REDUNDANCY_DESCRIPTION: Readonly<
  Record<StorageRedundancy, { dataResidency: string; description: string }>
> = {
  LRS: {
    dataResidency: 'primary region',
    description: 'Locally redundant: 3 copies in one datacenter of the vault region',
  },
  ZRS: {
    dataResidency: 'primary region',
    description: 'Zone redundant: copies in 3 availability zones of the vault region',
  },
  GRS: {
    dataResidency: 'primary and secondary region',
    description: 'Geo redundant: copies in the vault region and in its paired secondary region',
  },
};

export interface VaultDoc {
  readonly name: string;
  readonly subscriptionId: string;
  readonly location: string;
  readonly storageRedundancy: StorageRedundancy;
  /** 32 hex characters; binds the vault's wrapped data key (shared/vault WrapContext). */
  readonly vaultId: string;
  /** Where the vault's data encryption key will live (created by the data plane on first backup). */
  readonly dataKeyRef: string;
  readonly createdTime: string;
  readonly updatedTime: string;
  readonly provisioningState: 'Succeeded' | 'Deleting';
  /** Items registered in the vault (any state); a vault with items cannot be deleted. */
  readonly protectedItemCount: number;
  readonly policyCount: number;
  /** Absent in rows written before soft delete existed: softDeleteOf() gives the default. */
  readonly softDelete?: SoftDeleteSettings;
  /** Absent: Disabled (immutabilityOf). */
  readonly immutability?: ImmutabilityState;
  readonly [field: string]: unknown;
}

interface CounterDoc {
  readonly count: number;
  readonly [field: string]: unknown;
}

// Azure region names are lower-case letters and digits ("westeurope", "eastus2").
const LOCATION = /^[a-z][a-z0-9]{1,39}$/;

export const VaultBodySchema = z.strictObject(
  {
    location: z
      .string({
        error: (i) => (i.input === undefined ? 'is required' : 'must be a string (an Azure region name)'),
      })
      .regex(LOCATION, {
        error: 'must be an Azure region name: 2-40 lower-case letters and digits, e.g. westeurope',
      }),
    properties: z
      .strictObject(
        {
          storageRedundancy: z
            .enum(STORAGE_REDUNDANCIES, { error: 'must be one of LRS, ZRS, GRS' })
            .optional(),
          softDeleteSettings: z
            .strictObject(
              {
                state: z
                  .enum(SOFT_DELETE_STATES, { error: 'must be one of Enabled, Disabled, AlwaysOn' })
                  .optional(),
                retentionDays: z
                  .number({ error: 'must be a whole number of days' })
                  .int({ error: 'must be a whole number of days' })
                  .min(SOFT_DELETE_MIN_DAYS, {
                    error: `must be from ${SOFT_DELETE_MIN_DAYS} to ${SOFT_DELETE_MAX_DAYS} days`,
                  })
                  .max(SOFT_DELETE_MAX_DAYS, {
                    error: `must be from ${SOFT_DELETE_MIN_DAYS} to ${SOFT_DELETE_MAX_DAYS} days`,
                  })
                  .optional(),
              },
              { error: 'must be an object' },
            )
            .optional(),
          immutabilitySettings: z
            .strictObject(
              {
                state: z.enum(IMMUTABILITY_STATES, { error: 'must be one of Disabled, Enabled, Locked' }),
              },
              { error: 'must be an object' },
            )
            .optional(),
        },
        { error: 'must be an object' },
      )
      .optional(),
  },
  { error: 'must be a JSON object' },
);
export type VaultBody = z.output<typeof VaultBodySchema>;

export interface VaultResource {
  readonly id: string;
  readonly name: string;
  readonly type: 'Strongbox/vaults';
  readonly location: string;
  readonly etag: string;
  readonly properties: {
    readonly provisioningState: VaultDoc['provisioningState'];
    readonly storageRedundancy: StorageRedundancy;
    readonly dataResidency: string;
    readonly redundancyDescription: string;
    readonly vaultId: string;
    readonly dataKeyRef: string;
    readonly createdTime: string;
    readonly updatedTime: string;
    readonly protectedItemCount: number;
    readonly softDeleteSettings: SoftDeleteSettings;
    readonly immutabilitySettings: { readonly state: ImmutabilityState };
  };
}

export function vaultResourceOf(doc: VaultDoc, etag: string): VaultResource {
  const r = REDUNDANCY_DESCRIPTION[doc.storageRedundancy];
  return {
    id: `/subscriptions/${doc.subscriptionId}/vaults/${doc.name}`,
    name: doc.name,
    type: 'Strongbox/vaults',
    location: doc.location,
    etag,
    properties: {
      provisioningState: doc.provisioningState,
      storageRedundancy: doc.storageRedundancy,
      dataResidency: r.dataResidency,
      redundancyDescription: r.description,
      vaultId: doc.vaultId,
      dataKeyRef: doc.dataKeyRef,
      createdTime: doc.createdTime,
      updatedTime: doc.updatedTime,
      protectedItemCount: doc.protectedItemCount,
      softDeleteSettings: softDeleteOf(doc),
      immutabilitySettings: { state: immutabilityOf(doc) },
    },
  };
}

/** The immutability a PUT asks for; Locked cannot be left. */
function nextImmutability(current: ImmutabilityState, body: VaultBody): ImmutabilityState {
  const next = body.properties?.immutabilitySettings?.state ?? current;
  if (current === 'Locked' && next !== 'Locked') {
    throw new ApiError(
      'PropertyCannotBeChanged',
      'properties.immutabilitySettings.state is Locked, which cannot be changed (locking is irreversible).',
      'properties.immutabilitySettings.state',
    );
  }
  return next;
}

/**
 * The settings a PUT asks for, over what the vault has; AlwaysOn cannot be left, and an immutable vault
 * (as it is, or as this PUT makes it) cannot weaken soft delete.
 */
function nextSoftDelete(
  current: SoftDeleteSettings,
  body: VaultBody,
  immutable: ImmutabilityState = 'Disabled',
): SoftDeleteSettings {
  const asked = body.properties?.softDeleteSettings;
  const next: SoftDeleteSettings = {
    state: asked?.state ?? current.state,
    retentionDays: asked?.retentionDays ?? current.retentionDays,
  };
  if (
    immutable !== 'Disabled' &&
    ((next.state === 'Disabled' && current.state !== 'Disabled') ||
      next.retentionDays < current.retentionDays)
  ) {
    throw new ApiError(
      'BlockedByImmutableVault',
      `The vault is immutable (${immutable}): soft delete cannot be turned off or shortened.`,
      'properties.softDeleteSettings',
    );
  }
  if (current.state === 'AlwaysOn' && next.state !== 'AlwaysOn') {
    throw new ApiError(
      'PropertyCannotBeChanged',
      'properties.softDeleteSettings.state is AlwaysOn, which cannot be turned off (it is irreversible by design).',
      'properties.softDeleteSettings.state',
    );
  }
  return next;
}

export type { Preconditions } from './preconditions';

export function vaultNotFound(vault: string): ApiError {
  return new ApiError('VaultNotFound', `The vault '${vault}' was not found.`, 'vaultName');
}

/** A DELETE started and did not finish (it failed or crashed half-way); only DELETE may touch the vault. */
export function vaultIsBeingDeleted(vault: string): ApiError {
  return new ApiError(
    'VaultIsBeingDeleted',
    `The vault '${vault}' is being deleted. Send DELETE again to finish deleting it.`,
    'vaultName',
  );
}

export interface VaultService {
  put(
    sub: string,
    vault: string,
    body: unknown,
    pre?: Preconditions,
  ): Promise<{ created: boolean; resource: VaultResource }>;
  /** The vault itself, also while it is being deleted (provisioningState `Deleting`). */
  get(sub: string, vault: string): Promise<VaultResource>;
  /**
   * The vault row, for other services: 404 VaultNotFound if absent, 409 VaultIsBeingDeleted while a
   * DELETE is unfinished. Everything in a vault is read through here, so a vault whose deletion stopped
   * half-way never shows a partial set of policies, jobs or items: only itself, marked `Deleting`.
   */
  read(sub: string, vault: string): Promise<{ doc: VaultDoc; etag: string }>;
  list(sub: string, page: PageRequest, only?: ReadonlySet<string>): Promise<Page<VaultResource>>;
  delete(sub: string, vault: string, pre?: Preconditions): Promise<void>;
}

export function vaultService(deps: ControlPlaneDeps): VaultService {
  const { store, clock, ids } = deps;
  const T = CONTROL_PLANE_TABLE;

  const assignments = roleAssignmentStore(store);

  /** The row as it is, Deleting or not. */
  const readRow = async (sub: string, vault: string) => {
    const row = await store.get<VaultDoc>(T, rowKeys.partition(sub), rowKeys.vault(vault));
    if (!row) throw vaultNotFound(vault);
    return { doc: row.value, etag: row.etag };
  };

  const read = async (sub: string, vault: string) => {
    const row = await readRow(sub, vault);
    if (row.doc.provisioningState === 'Deleting') throw vaultIsBeingDeleted(row.doc.name);
    return row;
  };

  const counterOp = async (
    pk: string,
    delta: number,
  ): Promise<{ op: TransactionOperation; count: number }> => {
    const counter = await store.get<CounterDoc>(T, pk, rowKeys.vaultCounter());
    const count = (counter?.value.count ?? 0) + delta;
    const value: CounterDoc = { count };
    return {
      count,
      op: counter
        ? { kind: 'update', rowKey: rowKeys.vaultCounter(), value, etag: counter.etag }
        : { kind: 'insert', rowKey: rowKeys.vaultCounter(), value },
    };
  };

  const create = async (sub: string, vault: string, body: VaultBody): Promise<VaultResource | undefined> => {
    const pk = rowKeys.partition(sub);
    const now = clock.now().toISOString();
    const vaultId = ids.vaultId();
    const immutability = nextImmutability('Disabled', body);
    const doc: VaultDoc = {
      name: vault,
      subscriptionId: sub,
      location: body.location,
      storageRedundancy: body.properties?.storageRedundancy ?? 'LRS',
      vaultId,
      dataKeyRef: `vaults/${vaultId}/keys/dek`,
      createdTime: now,
      updatedTime: now,
      provisioningState: 'Succeeded',
      protectedItemCount: 0,
      policyCount: 1,
      immutability,
      softDelete: nextSoftDelete(DEFAULT_SOFT_DELETE, body, immutability),
    };
    const policy: PolicyDoc = {
      name: DEFAULT_POLICY_NAME,
      vaultName: vault,
      subscriptionId: sub,
      policy: defaultPolicy(),
      protectedItemCount: 0,
      createdTime: now,
      updatedTime: now,
    };
    // The counter row makes the limit exact under concurrency: every create rewrites it with its ETag, so
    // of two creates that both saw 499, one transaction fails and re-reads (no count-then-insert race).
    const counter = await counterOp(pk, +1);
    if (counter.count > MAX_VAULTS_PER_SUBSCRIPTION) {
      throw new ApiError(
        'VaultLimitExceeded',
        `The subscription already has ${MAX_VAULTS_PER_SUBSCRIPTION} vaults, the most allowed. Delete a vault before creating another.`,
        'vaultName',
      );
    }
    try {
      const [etag] = await store.transact(T, pk, [
        { kind: 'insert', rowKey: rowKeys.vault(vault), value: doc },
        { kind: 'insert', rowKey: rowKeys.policy(vault, DEFAULT_POLICY_NAME), value: policy },
        counter.op,
      ]);
      return vaultResourceOf(doc, etag ?? '');
    } catch (err) {
      // Lost a race (the counter moved, or the vault appeared): the caller re-reads and tries again.
      if (hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) || hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS))
        return undefined;
      throw err;
    }
  };

  const update = async (
    sub: string,
    current: { doc: VaultDoc; etag: string },
    body: VaultBody,
  ): Promise<VaultResource> => {
    const { doc } = current;
    if (doc.provisioningState === 'Deleting') throw vaultIsBeingDeleted(doc.name);
    if (body.location !== doc.location) {
      throw new ApiError(
        'PropertyCannotBeChanged',
        `location cannot be changed (the vault is in '${doc.location}').`,
        'location',
      );
    }
    const redundancy = body.properties?.storageRedundancy ?? doc.storageRedundancy;
    // Azure: storage replication can be changed only before any item is protected.
    if (redundancy !== doc.storageRedundancy && doc.protectedItemCount > 0) {
      throw new ApiError(
        'PropertyCannotBeChanged',
        'properties.storageRedundancy cannot be changed after items are protected in the vault.',
        'properties.storageRedundancy',
      );
    }
    const immutability = nextImmutability(immutabilityOf(doc), body);
    // Weakening soft delete is judged against the stricter of the old and new immutability.
    const guard = immutabilityOf(doc) !== 'Disabled' ? immutabilityOf(doc) : immutability;
    const next: VaultDoc = {
      ...doc,
      storageRedundancy: redundancy,
      softDelete: nextSoftDelete(softDeleteOf(doc), body, guard),
      immutability,
      updatedTime: clock.now().toISOString(),
    };
    const etag = await store.update(T, rowKeys.partition(sub), rowKeys.vault(doc.name), next, current.etag);
    return vaultResourceOf(next, etag);
  };

  return {
    read,
    async put(sub, vault, rawBody, pre = {}) {
      const body = parseBody(VaultBodySchema, rawBody);
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        const existing = await store.get<VaultDoc>(T, rowKeys.partition(sub), rowKeys.vault(vault));
        checkPreconditions(pre, existing?.etag);
        if (existing) {
          try {
            return {
              created: false,
              resource: await update(sub, { doc: existing.value, etag: existing.etag }, body),
            };
          } catch (err) {
            // With If-Match the client asked for exactly that version: a lost race is its 412.
            if (hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) && pre.ifMatch === undefined) continue;
            if (hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED)) checkPreconditions(pre, undefined);
            throw err;
          }
        }
        const created = await create(sub, vault, body);
        if (created) return { created: true, resource: created };
      }
      throw new ApiError('ConcurrencyConflict', 'The vault was changed by concurrent requests; retry.');
    },
    async get(sub, vault) {
      const { doc, etag } = await readRow(sub, vault);
      return vaultResourceOf(doc, etag);
    },
    async list(sub, page, only) {
      const result = await withSkipToken(page, () =>
        store.query<VaultDoc>(T, rowKeys.partition(sub), {
          rowKeyPrefix: rowKeys.vaultPrefix(),
          pageSize: page.top,
          ...(page.storeToken !== undefined ? { continuationToken: page.storeToken } : {}),
        }),
      );
      const value = result.items
        .filter((e) => only === undefined || only.has(e.value.name.toLowerCase()))
        .map((e) => vaultResourceOf(e.value, e.etag));
      const skipToken = encodeSkipToken(result.continuationToken);
      return skipToken === undefined ? { value } : { value, skipToken };
    },
    async delete(sub, vault, pre = {}) {
      const pk = rowKeys.partition(sub);
      // The order is what makes a DELETE that stops anywhere (an error, a crash, a timeout) safe:
      //   1. mark the vault Deleting (conditional on its ETag). From then on the vault shows only itself,
      //      marked Deleting; everything in it answers 409 VaultIsBeingDeleted (read() above), and nothing
      //      can be added (item and policy writes rewrite the vault row with the ETag they read, and refuse
      //      a Deleting vault), so the unconditional deletes below cannot remove anything added later.
      //   2. its role assignments, jobs and policies, in any order: all hidden behind the mark.
      //   3. the vault row and the subscription's vault count, in one transaction: the last step.
      // A DELETE that stopped after step 1 leaves a Deleting vault; the next DELETE resumes at step 2 (every
      // step is idempotent), so the vault is always either intact, hidden behind the mark, or gone.
      let name: string | undefined;
      for (let attempt = 0; ; attempt++) {
        if (attempt === MAX_CONFLICT_RETRIES) {
          throw new ApiError('ConcurrencyConflict', 'The vault was changed by concurrent requests; retry.');
        }
        const { doc, etag } = await readRow(sub, vault);
        name = doc.name;
        checkPreconditions(pre, etag);
        if (doc.provisioningState === 'Deleting') break;
        // Azure refuses to delete a vault that still holds backup items or data; so do we. Items are counted
        // on the vault row (every item insert rewrites it), and recovery points are looked for directly.
        const rp = await store.query(T, pk, { rowKeyPrefix: rowKeys.rpVaultPrefix(vault), pageSize: 1 });
        if (doc.protectedItemCount > 0 || rp.items.length > 0) {
          throw new ApiError(
            'VaultHasProtectedItems',
            `The vault '${doc.name}' cannot be deleted because it contains ${doc.protectedItemCount} protected item(s)` +
              `${rp.items.length > 0 ? ' and recovery points' : ''}. Stop protection and delete the backup data of every item first.`,
            'vaultName',
          );
        }
        try {
          await store.update(T, pk, rowKeys.vault(vault), { ...doc, provisioningState: 'Deleting' }, etag);
          break;
        } catch (err) {
          if (!hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED)) throw err;
          if (pre.ifMatch !== undefined) checkPreconditions(pre, undefined);
        }
      }
      // Step 2. Role assignments go too, so that a later vault of the same name does not inherit them.
      await assignments.removeAllAt({ subscriptionId: sub, vaultName: name ?? vault });
      for (const prefix of [rowKeys.jobPrefix(vault), rowKeys.policyPrefix(vault)]) {
        const keys = await allKeys(pk, prefix);
        // Azure Tables: at most 100 operations per transaction.
        for (let i = 0; i < keys.length; i += MAX_TRANSACTION_OPERATIONS) {
          await store.transact(
            T,
            pk,
            keys
              .slice(i, i + MAX_TRANSACTION_OPERATIONS)
              .map((rowKey): TransactionOperation => ({ kind: 'delete', rowKey })),
          );
        }
      }
      // Step 3: the vault row and the subscription's vault count, together.
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        const counter = await counterOp(pk, -1);
        try {
          await store.transact(T, pk, [{ kind: 'delete', rowKey: rowKeys.vault(vault) }, counter.op]);
          return;
        } catch (err) {
          // The counter moved (another vault was created or deleted): read it again.
          if (
            !hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) &&
            !hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS)
          )
            throw err;
        }
      }
      throw new ApiError('ConcurrencyConflict', 'The vault was changed by concurrent requests; retry.');
    },
  };

  /** Every row key under a prefix of the subscription's partition. */
  async function allKeys(pk: string, prefix: string): Promise<string[]> {
    return (await queryAll(store, T, pk, { rowKeyPrefix: prefix })).map((e) => e.rowKey);
  }
}
