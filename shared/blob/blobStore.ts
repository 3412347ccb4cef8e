// The BlobStore port: a flat key space of immutable-per-version byte objects that pack files,
// indexes and manifests are written through. docs/blob-store.md is the full contract; the short
// version is on each member. Adapters: azureBlobStore, localDirBlobStore, memBlobStore, plus the
// faultyBlobStore and retryingBlobStore wrappers.
//
// Errors (all BlobError, see blobErrors.ts): NOT_FOUND, ALREADY_EXISTS, PRECONDITION_FAILED,
// TRANSIENT (the only one worth retrying), INVALID_KEY, INVALID_RANGE, INVALID_ARGUMENT,
// LIMIT_EXCEEDED, FAILED. Expected absences are returned, not thrown: `stat` gives undefined and
// `delete` reports `deleted: false`.

/** Lower-case names `[a-z_][a-z0-9_]*`, printable-ASCII values, at most 8 KiB in total. */
export type BlobMetadata = Readonly<Record<string, string>>;

export interface WriteConditions {
  /** Write only if the key does not exist; otherwise ALREADY_EXISTS. */
  ifNoneMatch?: '*';
  /** Write only if the current version has this etag; otherwise (also if missing) PRECONDITION_FAILED. */
  ifMatch?: string;
}

export interface PutOptions extends WriteConditions {
  /** Replaces all metadata of the key; omitted means none. */
  metadata?: BlobMetadata;
}

export interface WriterOptions extends PutOptions {
  /**
   * Bytes per staged block on adapters that stage blocks (Azure); others validate it and ignore it.
   * Default 4 MiB; at most 4,000 MiB (Azure Put Block). Memory held is about
   * blockSizeBytes × (maxBlocksInFlight + 1).
   */
  blockSizeBytes?: number;
  /** Blocks uploaded concurrently (Azure). Default 4: more does not help on 2 cores. */
  maxBlocksInFlight?: number;
}

export interface PutResult {
  /** Opaque; changes on every successful write, even of identical bytes. */
  etag: string;
}

export interface BlobStat {
  size: number;
  etag: string;
  metadata: BlobMetadata;
}

export interface BlobContent {
  data: Uint8Array;
  etag: string;
  metadata: BlobMetadata;
}

export interface BlobListEntry {
  key: string;
  size: number;
  etag: string;
}

export interface DeleteOptions {
  /** Delete only if the current version has this etag; otherwise (also if missing) PRECONDITION_FAILED. */
  ifMatch?: string;
}

export interface DeleteResult {
  /** False if the key was already absent (an unconditional delete is idempotent). */
  deleted: boolean;
}

/**
 * A streaming upload for objects too large to hold in memory (packs of hundreds of MiB).
 * Nothing is visible under the key until `commit()` succeeds; conditions are checked at commit.
 * Calls must not overlap (await each `write`). After any error the writer is failed: call `abort()`
 * and start over. `abort()` is always safe and idempotent, and a no-op after a successful commit.
 */
export interface BlobWriter {
  /** Bytes accepted by `write` so far. */
  readonly bytesWritten: number;
  /** Resolves when the writer can take more; it keeps no reference to `chunk` after resolving. */
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<PutResult>;
  abort(): Promise<void>;
}

export interface BlobStore {
  /** Replaces (or creates) the whole object atomically: readers see the old or the new version. */
  put(key: string, data: Uint8Array, opts?: PutOptions): Promise<PutResult>;

  /** The whole object, its etag and metadata from one version. NOT_FOUND if missing. */
  get(key: string): Promise<BlobContent>;

  /**
   * Exactly `length` bytes from `offset`. NOT_FOUND if missing; INVALID_RANGE if any requested byte
   * lies past the end (`offset === size` with `length === 0` is an empty, valid range).
   */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>;

  /**
   * Optional: getRange into the caller's buffer, so a reader that reuses a few buffers allocates
   * nothing per read (a restore reads ~250 ranges of 8 MiB per 2 GiB; fresh buffers cost ~1 s of GC,
   * bench/README.md). Writes the bytes to `into` from index 0 and resolves to
   * `into.subarray(0, length)`; the adapter keeps no reference to `into` after resolving. Same errors
   * as getRange, plus INVALID_ARGUMENT if `into` is shorter than `length`. Callers use
   * `readRangeInto()` (readRangeInto.ts), which falls back to getRange and one copy where an adapter
   * lacks it. Bytes of `into` past what was read are unspecified after a failure.
   */
  getRangeInto?(key: string, offset: number, length: number, into: Uint8Array): Promise<Uint8Array>;

  /** Size, etag and metadata, or undefined if the key does not exist. */
  stat(key: string): Promise<BlobStat | undefined>;

  /** Removes the key. Missing key: `deleted: false` without ifMatch, PRECONDITION_FAILED with it. */
  delete(key: string, opts?: DeleteOptions): Promise<DeleteResult>;

  /**
   * Committed objects whose key starts with `prefix` ('' for all), in ascending key order (byte
   * order; keys are ASCII). Not a snapshot: keys written or deleted during the listing may or may
   * not appear. Objects whose names are not valid keys (written by other tools) are skipped.
   */
  list(prefix: string): AsyncIterable<BlobListEntry>;

  /** Starts a streaming upload to `key`; see BlobWriter. */
  openWriter(key: string, opts?: WriterOptions): Promise<BlobWriter>;
}

/**
 * Every operation name, for fault rules and logs. Writer calls are named `writer.*`; getRangeInto
 * is a getRange (the same rules fire for both).
 */
export type BlobOp =
  'put' | 'get' | 'getRange' | 'stat' | 'delete' | 'list' | 'openWriter' | 'writer.write' | 'writer.commit';

/** Defaults shared by the adapters, so a writer behaves the same wherever it runs. */
export const DEFAULT_WRITER_BLOCK_SIZE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_WRITER_BLOCKS_IN_FLIGHT = 4;
