// The StateStore port: small JSON documents in partitioned tables with ETag-based optimistic concurrency.
// It is shaped after Azure Tables (the production adapter), so every operation here is one the service
// does atomically: conditional insert/replace/delete of one row, and a transaction of up to 100 rows in
// one partition. Adapters: azureTableStateStore (Azure Tables / Azurite), memStateStore (tests).
import { StrongboxError } from '../errors';

/** Error codes. Adapters translate their SDK's errors into exactly these (STYLE §3). */
export const STATE_ERROR = {
  NOT_FOUND: 'STATE.NOT_FOUND',
  ALREADY_EXISTS: 'STATE.ALREADY_EXISTS',
  /** The row's ETag is not the one the caller read: someone else wrote it first. */
  PRECONDITION_FAILED: 'STATE.PRECONDITION_FAILED',
  /** A timeout, throttling or a 5xx; the same call may succeed later. */
  TRANSIENT: 'STATE.TRANSIENT',
  /** A key, document or transaction that breaks the store's limits; a programming error, never retried. */
  INVALID_ARGUMENT: 'STATE.INVALID_ARGUMENT',
  FAILED: 'STATE.FAILED',
} as const;
export type StateErrorCode = (typeof STATE_ERROR)[keyof typeof STATE_ERROR];

export class StateError extends StrongboxError {
  declare readonly code: StateErrorCode;
  constructor(code: StateErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** Azure Tables: an entity group transaction holds at most 100 operations. */
export const MAX_TRANSACTION_OPERATIONS = 100;
/** Azure Tables: PartitionKey and RowKey are strings of at most 1 KiB. */
export const MAX_KEY_CHARS = 512;
/**
 * Azure Tables: a string property holds at most 64 KiB, i.e. 32,768 UTF-16 code units. The document is one
 * string property, so its JSON must fit.
 */
export const MAX_DOCUMENT_CHARS = 32_768;
/** Azure Tables: a query page returns at most 1,000 entities. */
export const MAX_PAGE_SIZE = 1000;

// Azure Tables: keys may not contain / \ # ? or control characters (U+0000-U+001F, U+007F-U+009F).
// eslint-disable-next-line no-control-regex
const FORBIDDEN_KEY_CHARS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;
// Azure Tables: table names are 3-63 alphanumeric characters starting with a letter.
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
/** Indexed fields become table properties, so they must be valid property names. */
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

/** A JSON document: the store keeps it whole and hands it back unchanged. */
export type StateDocument = { readonly [field: string]: unknown };

export interface StoredEntity<T extends StateDocument> {
  readonly partitionKey: string;
  readonly rowKey: string;
  /** Opaque; pass it back to update or delete only if the row is still what you read. */
  readonly etag: string;
  readonly value: T;
}

/**
 * Filters compare a document's top-level string fields. Strings only, because they compare the same way
 * in every adapter (ISO-8601 UTC times sort as text); numbers would not (Int32 vs Double in Tables).
 */
export interface FieldCondition {
  readonly field: string;
  readonly op: 'eq' | 'ne' | 'ge' | 'gt' | 'le' | 'lt';
  readonly value: string;
}

export interface QueryOptions {
  /** Only rows whose RowKey starts with this. */
  readonly rowKeyPrefix?: string;
  /** All conditions must hold (AND). */
  readonly where?: readonly FieldCondition[];
  /** At most this many rows in the page (1..1000). A page may hold fewer and still have a continuation. */
  readonly pageSize?: number;
  /** From a previous page of the same query. Opaque. */
  readonly continuationToken?: string;
}

export interface QueryPage<T extends StateDocument> {
  /** In RowKey order. */
  readonly items: readonly StoredEntity<T>[];
  /** Absent on the last page. */
  readonly continuationToken?: string;
}

/** One write of a transaction; all rows are in the transaction's partition. */
export type TransactionOperation =
  | { readonly kind: 'insert'; readonly rowKey: string; readonly value: StateDocument }
  | { readonly kind: 'update'; readonly rowKey: string; readonly value: StateDocument; readonly etag: string }
  | { readonly kind: 'upsert'; readonly rowKey: string; readonly value: StateDocument }
  /**
   * Unconditional inside a transaction (NOT_FOUND if the row is absent): @azure/data-tables cannot send an
   * If-Match header for a delete in a batch (TableClient.submitTransaction drops it). To delete a row only
   * if it is unchanged, first mark it with a conditional update, then delete it; writers refuse marked rows.
   */
  | { readonly kind: 'delete'; readonly rowKey: string };

/** `etag: '*'` on update/delete means "whatever is there" (still NOT_FOUND if nothing is). */
export const ANY_ETAG = '*';

export interface StateStore {
  /** undefined when the row does not exist. */
  get<T extends StateDocument>(
    table: string,
    partitionKey: string,
    rowKey: string,
  ): Promise<StoredEntity<T> | undefined>;
  /** Insert-if-absent. ALREADY_EXISTS if the row exists. Returns the new ETag. */
  insert(table: string, partitionKey: string, rowKey: string, value: StateDocument): Promise<string>;
  /** Replace-if-match. NOT_FOUND if absent, PRECONDITION_FAILED if the ETag is stale. Returns the new ETag. */
  update(
    table: string,
    partitionKey: string,
    rowKey: string,
    value: StateDocument,
    etag: string,
  ): Promise<string>;
  /** Insert or replace, unconditionally. Returns the new ETag. */
  upsert(table: string, partitionKey: string, rowKey: string, value: StateDocument): Promise<string>;
  /** Delete-if-match. NOT_FOUND if absent, PRECONDITION_FAILED if the ETag is stale. */
  delete(table: string, partitionKey: string, rowKey: string, etag: string): Promise<void>;
  /** One page of a partition, in RowKey order. */
  query<T extends StateDocument>(
    table: string,
    partitionKey: string,
    options?: QueryOptions,
  ): Promise<QueryPage<T>>;
  /**
   * All operations or none (Azure entity group transaction). Fails with the code of the first operation
   * that fails. Returns the new ETags in operation order ('' for deletes).
   */
  transact(
    table: string,
    partitionKey: string,
    operations: readonly TransactionOperation[],
  ): Promise<string[]>;
}

// --- shared argument checks: both adapters apply the same limits, so memStateStore cannot hide a bug ----

export function checkTableName(table: string): void {
  if (!TABLE_NAME.test(table)) {
    throw new StateError(
      STATE_ERROR.INVALID_ARGUMENT,
      `table name "${table}" must be 3-63 letters or digits, starting with a letter`,
    );
  }
}

export function checkKey(kind: 'PartitionKey' | 'RowKey', key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_CHARS || FORBIDDEN_KEY_CHARS.test(key)) {
    throw new StateError(
      STATE_ERROR.INVALID_ARGUMENT,
      `${kind} must be 1-${MAX_KEY_CHARS} characters without / \\ # ? or control characters`,
    );
  }
}

/** Serialises a document and checks it fits one table property. */
export function encodeDocument(value: StateDocument): string {
  const json = JSON.stringify(value);
  if (json.length > MAX_DOCUMENT_CHARS) {
    throw new StateError(
      STATE_ERROR.INVALID_ARGUMENT,
      `document is ${json.length} characters; at most ${MAX_DOCUMENT_CHARS} fit one table property`,
    );
  }
  return json;
}

export function checkQuery(options: QueryOptions): void {
  const size = options.pageSize;
  if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE)) {
    throw new StateError(
      STATE_ERROR.INVALID_ARGUMENT,
      `pageSize must be a whole number from 1 to ${MAX_PAGE_SIZE}`,
    );
  }
  for (const c of options.where ?? []) {
    if (!FIELD_NAME.test(c.field)) {
      throw new StateError(
        STATE_ERROR.INVALID_ARGUMENT,
        `filter field "${c.field}" is not a plain field name`,
      );
    }
  }
}

export function checkTransaction(partitionKey: string, operations: readonly TransactionOperation[]): void {
  checkKey('PartitionKey', partitionKey);
  if (operations.length === 0 || operations.length > MAX_TRANSACTION_OPERATIONS) {
    throw new StateError(
      STATE_ERROR.INVALID_ARGUMENT,
      `a transaction holds 1-${MAX_TRANSACTION_OPERATIONS} operations, not ${operations.length}`,
    );
  }
  const seen = new Set<string>();
  for (const op of operations) {
    checkKey('RowKey', op.rowKey);
    // Azure: an entity may appear only once in a transaction.
    if (seen.has(op.rowKey)) {
      throw new StateError(
        STATE_ERROR.INVALID_ARGUMENT,
        `row "${op.rowKey}" appears twice in one transaction`,
      );
    }
    seen.add(op.rowKey);
  }
}

/** The top-level string fields of a document: the ones filters can use. */
export function indexedFields(value: StateDocument): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string' && FIELD_NAME.test(k)) out[k] = v;
  }
  return out;
}

/** Evaluates a condition the way Azure Tables does: a row without the field never matches. */
export function matches(fields: Readonly<Record<string, string>>, where: readonly FieldCondition[]): boolean {
  return where.every((c) => {
    const v = fields[c.field];
    if (v === undefined) return false;
    switch (c.op) {
      case 'eq':
        return v === c.value;
      case 'ne':
        return v !== c.value;
      case 'ge':
        return v >= c.value;
      case 'gt':
        return v > c.value;
      case 'le':
        return v <= c.value;
      case 'lt':
        return v < c.value;
    }
  });
}

/**
 * The smallest string greater than every string that starts with `prefix`, for a RowKey range scan.
 * Assumes the prefix's last character is not U+FFFF (our prefixes end in '|').
 */
export function prefixUpperBound(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}
