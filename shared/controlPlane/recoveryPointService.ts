// Recovery points: the read model of what can be restored. The backup workflow adds a row here LAST,
// after the blocks and the manifest are durable (docs/design write order), in one transaction with the
// item row so the item's count and last-point time never disagree with the rows.
import { STATE_ERROR } from '../state/stateStore';
import { hasErrorCode } from '../errors';
import { ApiError } from './apiErrors';
import type { ControlPlaneDeps } from './controlPlanePorts';
import { CONTROL_PLANE_TABLE, rowKeys } from './names';
import { encodeSkipToken, withSkipToken, type Page, type PageRequest } from './paging';
import { itemService } from './itemService';
import { MAX_CONFLICT_RETRIES } from './vaultService';

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

export interface RecoveryPointService {
  add(sub: string, vault: string, item: string, point: NewRecoveryPoint): Promise<RecoveryPointResource>;
  get(sub: string, vault: string, item: string, id: string): Promise<RecoveryPointResource>;
  list(sub: string, vault: string, item: string, page: PageRequest): Promise<Page<RecoveryPointResource>>;
}

export function recoveryPointService(deps: ControlPlaneDeps): RecoveryPointService {
  const { store, clock, ids } = deps;
  const T = CONTROL_PLANE_TABLE;
  const items = itemService(deps);

  return {
    async add(sub, vault, item, point) {
      const pk = rowKeys.partition(sub);
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        const { doc: itemDoc, etag } = await items.read(sub, vault, item);
        // Time-ordered ids: a partition scan lists an item's points oldest first.
        const id = ids.timeOrdered(new Date(point.recoveryPointTime));
        const doc: RecoveryPointDoc = {
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
          if (!hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED)) throw err;
        }
      }
      throw new ApiError('ConcurrencyConflict', 'The item was changed by concurrent requests; retry.');
    },
    async get(sub, vault, item, id) {
      await items.read(sub, vault, item);
      const row = await store.get<RecoveryPointDoc>(T, rowKeys.partition(sub), rowKeys.rp(vault, item, id));
      if (!row)
        throw new ApiError(
          'RecoveryPointNotFound',
          `The recovery point '${id}' was not found.`,
          'recoveryPointId',
        );
      return recoveryPointResourceOf(row.value);
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
}
