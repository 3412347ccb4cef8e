// Recovery points: the read model of what can be restored. The backup workflow adds a row here LAST,
// after the blocks and the manifest are durable (docs/design write order), in one transaction with the
// item row so the item's count and last-point time never disagree with the rows.
import { STATE_ERROR, type TransactionOperation } from '../state/stateStore';
import { hasErrorCode } from '../errors';
import { ApiError } from './apiErrors';
import type { ControlPlaneDeps } from './controlPlanePorts';
import { CONTROL_PLANE_TABLE, GENERATED_ID, rowKeys } from './names';
import { encodeSkipToken, withSkipToken, type Page, type PageRequest } from './paging';
import { itemService, type ItemDoc } from './itemService';
import { MAX_CONFLICT_RETRIES } from './vaultService';
import { queryAll } from '../state/queryAll';

export const RECOVERY_POINT_TYPES = ['Full', 'Incremental'] as const;
export const CONSISTENCY_TYPES = [
  'ApplicationConsistent',
  'FileSystemConsistent',
  'CrashConsistent',
] as const;

export interface RecoveryPointDoc {
  readonly id: string;
  readonly itemName: string;
  readonly vaultName: string;
  readonly subscriptionId: string;
  /** ISO-8601 UTC: when the snapshot was taken. */
  readonly recoveryPointTime: string;
  readonly recoveryPointType: (typeof RECOVERY_POINT_TYPES)[number];
  readonly consistency: (typeof CONSISTENCY_TYPES)[number];
  readonly sizeBytes: number;
  /** The manifest blob that describes the point's blocks. */
  readonly manifestRef: string;
  readonly createdTime: string;
  readonly [field: string]: unknown;
}

export type NewRecoveryPoint = Pick<
  RecoveryPointDoc,
  'recoveryPointTime' | 'recoveryPointType' | 'consistency' | 'sizeBytes' | 'manifestRef'
>;

export interface RecoveryPointResource {
  readonly id: string;
  readonly name: string;
  readonly type: 'Strongbox/vaults/protectedItems/recoveryPoints';
  readonly properties: Omit<RecoveryPointDoc, 'id' | 'vaultName' | 'subscriptionId'>;
}

export function recoveryPointResourceOf(doc: RecoveryPointDoc): RecoveryPointResource {
  const { id, vaultName, subscriptionId, ...properties } = doc;
  return {
    id: `/subscriptions/${subscriptionId}/vaults/${vaultName}/protectedItems/${doc.itemName}/recoveryPoints/${id}`,
    name: id,
    type: 'Strongbox/vaults/protectedItems/recoveryPoints',
    properties,
  };
}

export interface AddRecoveryPointOptions {
  /**
   * A caller-chosen id (time-ordered, from the point's time), so a workflow that runs twice (activities
   * run at least once) adds the point once: adding an existing id returns the existing point.
   */
  readonly id?: string;
  /** Workload-specific fields stored with the point (e.g. the disks of a VM point). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface RecoveryPointService {
  add(
    sub: string,
    vault: string,
    item: string,
    point: NewRecoveryPoint,
    opts?: AddRecoveryPointOptions,
  ): Promise<RecoveryPointResource>;
  /** The stored document (404 RecoveryPointNotFound), for workflows. */
  read(sub: string, vault: string, item: string, id: string): Promise<RecoveryPointDoc>;
  /** Every point of an item, oldest first. */
  listAll(sub: string, vault: string, item: string): Promise<RecoveryPointDoc[]>;
  /**
   * Deletes a point row and decrements the item's count, in one transaction. Idempotent: deleting a
   * point that is gone is a no-op. The caller deletes the point's data afterwards (write order reversed).
   */
  delete(sub: string, vault: string, item: string, id: string): Promise<void>;
  get(sub: string, vault: string, item: string, id: string): Promise<RecoveryPointResource>;
  list(sub: string, vault: string, item: string, page: PageRequest): Promise<Page<RecoveryPointResource>>;
}

export function recoveryPointService(deps: ControlPlaneDeps): RecoveryPointService {
  const { store, clock, ids } = deps;
  const T = CONTROL_PLANE_TABLE;
  const items = itemService(deps);

  const service: RecoveryPointService = {
    async add(sub, vault, item, point, opts = {}) {
      const pk = rowKeys.partition(sub);
      if (opts.id !== undefined) {
        if (!GENERATED_ID.test(opts.id))
          throw new ApiError('InvalidParameter', 'recovery point id must be 1-64 letters, digits or hyphens');
        const existing = await store.get<RecoveryPointDoc>(T, pk, rowKeys.rp(vault, item, opts.id));
        if (existing) return recoveryPointResourceOf(existing.value);
      }
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        const { doc: itemDoc, etag } = await items.read(sub, vault, item);
        // Time-ordered ids: a partition scan lists an item's points oldest first.
        const id = opts.id ?? ids.timeOrdered(new Date(point.recoveryPointTime));
        const doc: RecoveryPointDoc = {
          ...opts.extra,
          id,
          itemName: itemDoc.name,
          vaultName: itemDoc.vaultName,
          subscriptionId: itemDoc.subscriptionId,
          ...point,
          createdTime: clock.now().toISOString(),
        };
        const later =
          itemDoc.lastRecoveryPointTime === undefined ||
          point.recoveryPointTime > itemDoc.lastRecoveryPointTime;
        try {
          await store.transact(T, pk, [
            { kind: 'insert', rowKey: rowKeys.rp(vault, item, id), value: doc },
            {
              kind: 'update',
              rowKey: rowKeys.item(vault, item),
              value: {
                ...itemDoc,
                recoveryPointCount: itemDoc.recoveryPointCount + 1,
                ...(later ? { lastRecoveryPointTime: point.recoveryPointTime } : {}),
              },
              etag,
            },
          ]);
          return recoveryPointResourceOf(doc);
        } catch (err) {
          if (hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS) && opts.id !== undefined) {
            const row = await store.get<RecoveryPointDoc>(T, pk, rowKeys.rp(vault, item, opts.id));
            if (row) return recoveryPointResourceOf(row.value);
          }
          if (!hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED)) throw err;
        }
      }
      throw new ApiError('ConcurrencyConflict', 'The item was changed by concurrent requests; retry.');
    },
    async read(sub, vault, item, id) {
      await items.read(sub, vault, item);
      const row = await store.get<RecoveryPointDoc>(T, rowKeys.partition(sub), rowKeys.rp(vault, item, id));
      if (!row)
        throw new ApiError(
          'RecoveryPointNotFound',
          `The recovery point '${id}' was not found.`,
          'recoveryPointId',
        );
      return row.value;
    },
    async listAll(sub, vault, item) {
      const rows = await queryAll<RecoveryPointDoc>(store, T, rowKeys.partition(sub), {
        rowKeyPrefix: rowKeys.rpPrefix(vault, item),
      });
      return rows.map((e) => e.value);
    },
    async delete(sub, vault, item, id) {
      const pk = rowKeys.partition(sub);
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        // Read the raw item row: deleting the data of an item being removed must still work.
        const itemRow = await store.get<ItemDoc>(T, pk, rowKeys.item(vault, item));
        const rp = await store.get<RecoveryPointDoc>(T, pk, rowKeys.rp(vault, item, id));
        if (!rp) return;
        const ops: TransactionOperation[] = [{ kind: 'delete', rowKey: rowKeys.rp(vault, item, id) }];
        if (itemRow) {
          ops.push({
            kind: 'update',
            rowKey: itemRow.rowKey,
            value: {
              ...itemRow.value,
              recoveryPointCount: Math.max(0, itemRow.value.recoveryPointCount - 1),
            },
            etag: itemRow.etag,
          });
        }
        try {
          await store.transact(T, pk, ops);
          return;
        } catch (err) {
          // The item changed (another point added or deleted), or the point is already gone.
          if (hasErrorCode(err, STATE_ERROR.NOT_FOUND)) return;
          if (!hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED)) throw err;
        }
      }
      throw new ApiError('ConcurrencyConflict', 'The item was changed by concurrent requests; retry.');
    },
    async get(sub, vault, item, id) {
      return recoveryPointResourceOf(await service.read(sub, vault, item, id));
    },
    async list(sub, vault, item, page) {
      await items.read(sub, vault, item);
      const result = await withSkipToken(page, () =>
        store.query<RecoveryPointDoc>(T, rowKeys.partition(sub), {
          rowKeyPrefix: rowKeys.rpPrefix(vault, item),
          pageSize: page.top,
          ...(page.storeToken !== undefined ? { continuationToken: page.storeToken } : {}),
        }),
      );
      const value = result.items.map((e) => recoveryPointResourceOf(e.value));
      const skipToken = encodeSkipToken(result.continuationToken);
      return skipToken === undefined ? { value } : { value, skipToken };
    },
  };
  return service;
}
