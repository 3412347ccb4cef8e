// In-memory StateStore for unit tests. It applies the same limits and conditions as Azure Tables
// (stateStore.ts checks), and stores documents as JSON so callers can never alias stored state.
import {
  ANY_ETAG,
  STATE_ERROR,
  StateError,
  checkKey,
  checkQuery,
  checkTableName,
  checkTransaction,
  encodeDocument,
  indexedFields,
  matches,
  type QueryOptions,
  type QueryPage,
  type StateDocument,
  type StateStore,
  type StoredEntity,
  type TransactionOperation,
} from './stateStore';

interface Row {
  readonly json: string;
  readonly fields: Record<string, string>;
  readonly etag: string;
}

const DEFAULT_PAGE_SIZE = 1000;

export interface MemStateStore extends StateStore {
  /** Number of rows in a table (all partitions); for tests. */
  size(table: string): number;
}

export function memStateStore(): MemStateStore {
  // table -> partition -> rowKey -> row
  const tables = new Map<string, Map<string, Map<string, Row>>>();
  let version = 0;
  const nextEtag = () => `W/"mem-${++version}"`;

  const partition = (table: string, pk: string): Map<string, Row> => {
    checkTableName(table);
    checkKey('PartitionKey', pk);
    let t = tables.get(table);
    if (!t) tables.set(table, (t = new Map<string, Map<string, Row>>()));
    let p = t.get(pk);
    if (!p) t.set(pk, (p = new Map<string, Row>()));
    return p;
  };

  const makeRow = (value: StateDocument): Row => ({
    json: encodeDocument(value),
    fields: indexedFields(value),
    etag: nextEtag(),
  });

  const where = (pk: string, rk: string) => `${pk}/${rk}`;

  /** Checks one operation against the partition as it is; returns the row to write (undefined = delete). */
  const plan = (p: Map<string, Row>, pk: string, op: TransactionOperation): Row | undefined => {
    const current = p.get(op.rowKey);
    switch (op.kind) {
      case 'insert':
        if (current)
          throw new StateError(STATE_ERROR.ALREADY_EXISTS, `row ${where(pk, op.rowKey)} already exists`);
        return makeRow(op.value);
      case 'upsert':
        return makeRow(op.value);
      case 'update':
        if (!current)
          throw new StateError(STATE_ERROR.NOT_FOUND, `row ${where(pk, op.rowKey)} does not exist`);
        if (op.etag !== ANY_ETAG && op.etag !== current.etag) {
          throw new StateError(
            STATE_ERROR.PRECONDITION_FAILED,
            `row ${where(pk, op.rowKey)} changed since it was read`,
          );
        }
        return makeRow(op.value);
      case 'delete':
        if (!current)
          throw new StateError(STATE_ERROR.NOT_FOUND, `row ${where(pk, op.rowKey)} does not exist`);
        return undefined;
    }
  };

  /** A single delete is conditional, unlike a delete inside a transaction. */
  const deleteIfMatch = (table: string, pk: string, rk: string, etag: string): void => {
    const p = partition(table, pk);
    checkKey('RowKey', rk);
    const current = p.get(rk);
    if (!current) throw new StateError(STATE_ERROR.NOT_FOUND, `row ${where(pk, rk)} does not exist`);
    if (etag !== ANY_ETAG && etag !== current.etag) {
      throw new StateError(STATE_ERROR.PRECONDITION_FAILED, `row ${where(pk, rk)} changed since it was read`);
    }
    p.delete(rk);
  };

  const apply = (p: Map<string, Row>, rowKey: string, row: Row | undefined): string => {
    if (row) {
      p.set(rowKey, row);
      return row.etag;
    }
    p.delete(rowKey);
    return '';
  };

  const single = (table: string, pk: string, op: TransactionOperation): string => {
    const p = partition(table, pk);
    checkKey('RowKey', op.rowKey);
    return apply(p, op.rowKey, plan(p, pk, op));
  };

  // Every method is async so that callers see the same interleaving points as with a real store.
  return {
    get<T extends StateDocument>(table: string, pk: string, rk: string) {
      const p = partition(table, pk);
      checkKey('RowKey', rk);
      const row = p.get(rk);
      return Promise.resolve(
        row ? { partitionKey: pk, rowKey: rk, etag: row.etag, value: JSON.parse(row.json) as T } : undefined,
      );
    },
    insert: (table, pk, rk, value) =>
      Promise.resolve().then(() => single(table, pk, { kind: 'insert', rowKey: rk, value })),
    update: (table, pk, rk, value, etag) =>
      Promise.resolve().then(() => single(table, pk, { kind: 'update', rowKey: rk, value, etag })),
    upsert: (table, pk, rk, value) =>
      Promise.resolve().then(() => single(table, pk, { kind: 'upsert', rowKey: rk, value })),
    delete: (table, pk, rk, etag) => Promise.resolve().then(() => deleteIfMatch(table, pk, rk, etag)),
    query<T extends StateDocument>(
      table: string,
      pk: string,
      options: QueryOptions = {},
    ): Promise<QueryPage<T>> {
      return Promise.resolve().then(() => {
        checkQuery(options);
        const p = partition(table, pk);
        const after =
          options.continuationToken === undefined ? undefined : decodeToken(options.continuationToken);
        const prefix = options.rowKeyPrefix ?? '';
        const size = options.pageSize ?? DEFAULT_PAGE_SIZE;
        const keys = [...p.keys()]
          .filter((k) => k.startsWith(prefix) && (after === undefined || k > after))
          .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const items: StoredEntity<T>[] = [];
        let last: string | undefined;
        for (const k of keys) {
          const row = p.get(k);
          if (!row || !matches(row.fields, options.where ?? [])) continue;
          if (items.length === size) {
            return { items, continuationToken: encodeToken(last ?? '') };
          }
          items.push({ partitionKey: pk, rowKey: k, etag: row.etag, value: JSON.parse(row.json) as T });
          last = k;
        }
        return { items };
      });
    },
    transact(table: string, pk: string, operations: readonly TransactionOperation[]) {
      return Promise.resolve().then(() => {
        checkTransaction(pk, operations);
        const p = partition(table, pk);
        // Check everything against the current state first, then apply: all or nothing.
        const rows = operations.map((op) => plan(p, pk, op));
        return operations.map((op, i) => apply(p, op.rowKey, rows[i]));
      });
    },
    size(table: string) {
      let n = 0;
      for (const p of tables.get(table)?.values() ?? []) n += p.size;
      return n;
    },
  };
}

function encodeToken(lastRowKey: string): string {
  return Buffer.from(JSON.stringify({ after: lastRowKey }), 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through
  }
  throw new StateError(STATE_ERROR.INVALID_ARGUMENT, 'continuation token is not one this store issued');
}
