// StateStore on Azure Tables (@azure/data-tables); Azurite locally. Each row holds the document as JSON in
// `doc` and copies of its top-level string fields as `f_<name>` properties, so queries can filter on the
// server. SDK errors are translated here, at the edge, into STATE.* codes (STYLE §3).
import { ManagedIdentityCredential } from '@azure/identity';
import { TableClient, odata, type TableEntity, type TransactionAction } from '@azure/data-tables';
import type { StorageConnection } from '../config/config';
import {
  STATE_ERROR,
  StateError,
  checkKey,
  checkQuery,
  checkTableName,
  checkTransaction,
  encodeDocument,
  indexedFields,
  prefixUpperBound,
  type FieldCondition,
  type QueryOptions,
  type QueryPage,
  type StateDocument,
  type StateStore,
  type StoredEntity,
  type TransactionOperation,
} from './stateStore';

const DOC_PROPERTY = 'doc';
const FIELD_PREFIX = 'f_';
/** Enough retries to ride out a throttling blip, few enough that an HTTP request still answers in seconds. */
const TABLE_RETRY_OPTIONS = { maxRetries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000 };

type Row = TableEntity<Record<string, unknown>>;

interface RestErrorLike {
  readonly statusCode?: number;
  readonly code?: string;
  readonly details?: { readonly errorCode?: string };
  readonly message?: string;
}

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_NET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'REQUEST_SEND_ERROR',
]);

/** Maps a data-tables error to a STATE code. Messages name the operation and the service's code, never data. */
export function translateTableError(err: unknown, what: string): StateError {
  if (err instanceof StateError) return err;
  const e: RestErrorLike = typeof err === 'object' && err !== null ? err : {};
  const status = e.statusCode;
  const serviceCode = e.details?.errorCode ?? e.code;
  const detail = serviceCode ?? (status !== undefined ? `HTTP ${status}` : 'error');
  let code: (typeof STATE_ERROR)[keyof typeof STATE_ERROR] = STATE_ERROR.FAILED;
  if (status === 404) code = STATE_ERROR.NOT_FOUND;
  else if (status === 409) code = STATE_ERROR.ALREADY_EXISTS;
  else if (status === 412) code = STATE_ERROR.PRECONDITION_FAILED;
  else if (
    (status !== undefined && TRANSIENT_STATUS.has(status)) ||
    (serviceCode && TRANSIENT_NET.has(serviceCode))
  ) {
    code = STATE_ERROR.TRANSIENT;
  }
  return new StateError(code, `${what}: ${detail}`, { cause: err });
}

function toRow(pk: string, rk: string, value: StateDocument): Row {
  const row: Row = { partitionKey: pk, rowKey: rk, [DOC_PROPERTY]: encodeDocument(value) };
  for (const [k, v] of Object.entries(indexedFields(value))) row[FIELD_PREFIX + k] = v;
  return row;
}

function fromRow<T extends StateDocument>(row: {
  readonly partitionKey?: string;
  readonly rowKey?: string;
  readonly etag?: string;
  readonly [property: string]: unknown;
}): StoredEntity<T> {
  const doc = row[DOC_PROPERTY];
  if (
    typeof doc !== 'string' ||
    typeof row.etag !== 'string' ||
    row.partitionKey === undefined ||
    row.rowKey === undefined
  ) {
    throw new StateError(STATE_ERROR.FAILED, `row ${row.partitionKey}/${row.rowKey} is not a StateStore row`);
  }
  return { partitionKey: row.partitionKey, rowKey: row.rowKey, etag: row.etag, value: JSON.parse(doc) as T };
}

function filterOf(pk: string, options: QueryOptions): string {
  const parts = [odata`PartitionKey eq ${pk}`];
  if (options.rowKeyPrefix) {
    parts.push(
      odata`RowKey ge ${options.rowKeyPrefix}`,
      odata`RowKey lt ${prefixUpperBound(options.rowKeyPrefix)}`,
    );
  }
  for (const c of options.where ?? []) parts.push(condition(c));
  return parts.join(' and ');
}

function condition(c: FieldCondition): string {
  // The field name was checked (checkQuery) to be a plain identifier. OData strings double their quotes;
  // odata`` is not used here because it leaves a value unquoted when it is the whole template.
  return `${FIELD_PREFIX}${c.field} ${c.op} '${c.value.replace(/'/g, "''")}'`;
}

export interface AzureTableStateStoreOptions {
  /** Test hook: build clients differently (for example against a fault-injecting proxy). */
  readonly clientFor?: (table: string) => TableClient;
}

export function azureTableStateStore(
  storage: StorageConnection,
  options: AzureTableStateStoreOptions = {},
): StateStore {
  const clients = new Map<string, { client: TableClient; ready: Promise<void> | undefined }>();
  const credential =
    storage.kind === 'managedIdentity'
      ? // ManagedIdentityCredential, never a chain (reliability test 20).
        storage.clientId === undefined
        ? new ManagedIdentityCredential()
        : new ManagedIdentityCredential({ clientId: storage.clientId })
      : undefined;

  const build = (table: string): TableClient => {
    if (options.clientFor) return options.clientFor(table);
    if (storage.kind === 'connectionString') {
      return TableClient.fromConnectionString(storage.connectionString, table, {
        retryOptions: TABLE_RETRY_OPTIONS,
        // data-tables refuses to sign plain-http requests unless told; Azurite listens on http.
        allowInsecureConnection: storage.endpoints.table.startsWith('http:'),
      });
    }
    if (!credential) throw new Error('unreachable: managed identity without a credential');
    return new TableClient(storage.endpoints.table, table, credential, { retryOptions: TABLE_RETRY_OPTIONS });
  };

  /** The table's client, creating the table on first use (memoized; reset on failure so the next call retries). */
  const tableClient = async (table: string): Promise<TableClient> => {
    checkTableName(table);
    let entry = clients.get(table);
    if (!entry) clients.set(table, (entry = { client: build(table), ready: undefined }));
    const e = entry;
    e.ready ??= e.client.createTable().catch((err: unknown) => {
      e.ready = undefined;
      throw translateTableError(err, `create table ${table}`);
    });
    await e.ready;
    return e.client;
  };

  const run = async <R>(
    table: string,
    what: string,
    call: (client: TableClient) => Promise<R>,
  ): Promise<R> => {
    const client = await tableClient(table);
    try {
      return await call(client);
    } catch (err) {
      throw translateTableError(err, what);
    }
  };

  const etagOf = (r: { etag?: string }, what: string): string => {
    if (r.etag === undefined)
      throw new StateError(STATE_ERROR.FAILED, `${what}: the service returned no ETag`);
    return r.etag;
  };

  return {
    async get<T extends StateDocument>(table: string, pk: string, rk: string) {
      checkKey('PartitionKey', pk);
      checkKey('RowKey', rk);
      const client = await tableClient(table);
      try {
        return fromRow<T>(await client.getEntity<Record<string, unknown>>(pk, rk));
      } catch (err) {
        const e = translateTableError(err, `get ${table}`);
        if (e.code === STATE_ERROR.NOT_FOUND) return undefined;
        throw e;
      }
    },
    async insert(table, pk, rk, value) {
      checkKey('PartitionKey', pk);
      checkKey('RowKey', rk);
      const row = toRow(pk, rk, value);
      return await run(table, `insert into ${table}`, async (c) =>
        etagOf(await c.createEntity(row), 'insert'),
      );
    },
    async update(table, pk, rk, value, etag) {
      checkKey('PartitionKey', pk);
      checkKey('RowKey', rk);
      const row = toRow(pk, rk, value);
      return await run(table, `update ${table}`, async (c) =>
        etagOf(await c.updateEntity(row, 'Replace', { etag }), 'update'),
      );
    },
    async upsert(table, pk, rk, value) {
      checkKey('PartitionKey', pk);
      checkKey('RowKey', rk);
      const row = toRow(pk, rk, value);
      return await run(table, `upsert ${table}`, async (c) =>
        etagOf(await c.upsertEntity(row, 'Replace'), 'upsert'),
      );
    },
    async delete(table, pk, rk, etag) {
      checkKey('PartitionKey', pk);
      checkKey('RowKey', rk);
      await run(table, `delete from ${table}`, (c) => c.deleteEntity(pk, rk, { etag }));
    },
    async query<T extends StateDocument>(
      table: string,
      pk: string,
      options: QueryOptions = {},
    ): Promise<QueryPage<T>> {
      checkKey('PartitionKey', pk);
      checkQuery(options);
      return run(table, `query ${table}`, async (c) => {
        const pages = c
          .listEntities<Record<string, unknown>>({ queryOptions: { filter: filterOf(pk, options) } })
          .byPage({
            maxPageSize: options.pageSize ?? 1000,
            ...(options.continuationToken !== undefined
              ? { continuationToken: options.continuationToken }
              : {}),
          });
        const next = await pages.next();
        if (next.done) return { items: [] };
        const page = next.value;
        const items = page.map((row) => fromRow<T>(row));
        return page.continuationToken ? { items, continuationToken: page.continuationToken } : { items };
      });
    },
    async transact(table: string, pk: string, operations: readonly TransactionOperation[]) {
      checkTransaction(pk, operations);
      const actions = operations.map((op): TransactionAction => {
        switch (op.kind) {
          case 'insert':
            return ['create', toRow(pk, op.rowKey, op.value)];
          case 'upsert':
            return ['upsert', toRow(pk, op.rowKey, op.value), 'Replace'];
          case 'update':
            return ['update', toRow(pk, op.rowKey, op.value), 'Replace', { etag: op.etag }];
          case 'delete':
            return ['delete', { partitionKey: pk, rowKey: op.rowKey }];
        }
      });
      return run(table, `transaction on ${table}`, async (c) => {
        const response = await c.submitTransaction(actions);
        const sub = response.subResponses;
        return operations.map((op, i) => (op.kind === 'delete' ? '' : (sub[i]?.etag ?? '')));
      });
    },
  };
}
