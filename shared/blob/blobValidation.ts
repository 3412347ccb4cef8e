// Argument checks every adapter runs before touching storage, so that a bad call fails the same way
// on disk, in memory and on Azure.
import {
  BlobAlreadyExistsError,
  BlobInvalidArgumentError,
  BlobInvalidRangeError,
  BlobLimitExceededError,
  BlobPreconditionFailedError,
} from './blobErrors';
import {
  DEFAULT_WRITER_BLOCKS_IN_FLIGHT,
  DEFAULT_WRITER_BLOCK_SIZE_BYTES,
  type BlobMetadata,
  type PutOptions,
  type WriteConditions,
  type WriterOptions,
} from './blobStore';
import { BLOB_METADATA_MAX_BYTES, BLOCK_BLOB_MAX_BLOCK_SIZE_BYTES } from './azureLimits';
import { assertValidKey } from './blobKey';

// Azure: metadata names are C# identifiers, compared case-insensitively, and come back lower-cased
// through HTTP headers; allowing only lower case makes the round trip exact on every adapter.
const METADATA_NAME = /^[a-z_][a-z0-9_]*$/;
// Values travel as HTTP header values: printable ASCII, and surrounding spaces would be trimmed.
const METADATA_VALUE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

export function assertValidMetadata(metadata: BlobMetadata, key: string): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!METADATA_NAME.test(name))
      throw new BlobInvalidArgumentError(
        `metadata name ${JSON.stringify(name)} must match ${METADATA_NAME}`,
        key,
      );
    if (!METADATA_VALUE.test(value))
      throw new BlobInvalidArgumentError(
        `metadata value of ${name} must be non-empty printable ASCII without surrounding spaces`,
        key,
      );
    bytes += name.length + value.length;
  }
  // Azure: names plus values total at most 8 KiB.
  if (bytes > BLOB_METADATA_MAX_BYTES)
    throw new BlobLimitExceededError(
      `metadata is ${bytes} bytes; the limit is ${BLOB_METADATA_MAX_BYTES}`,
      key,
    );
}

export function assertValidConditions(conditions: WriteConditions, key: string): void {
  if (conditions.ifNoneMatch !== undefined && conditions.ifNoneMatch !== '*')
    throw new BlobInvalidArgumentError(`ifNoneMatch supports only '*'`, key);
  if (conditions.ifNoneMatch !== undefined && conditions.ifMatch !== undefined)
    throw new BlobInvalidArgumentError('ifNoneMatch and ifMatch are mutually exclusive', key);
  // '*' would mean "any version" on Azure (Azurite#2589: ignored for missing blobs); we only
  // compare concrete etags, identically on every adapter.
  if (conditions.ifMatch !== undefined && (conditions.ifMatch.length === 0 || conditions.ifMatch === '*'))
    throw new BlobInvalidArgumentError('ifMatch must be an etag returned by this store', key);
}

/** Offsets and lengths are non-negative safe integers; whether they fit the object is checked later. */
export function assertValidRangeArgs(key: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0)
    throw new BlobInvalidRangeError(key, offset, length);
}

/** Throws unless [offset, offset + length) lies inside an object of `size` bytes. */
export function assertRangeInside(key: string, offset: number, length: number, size: number): void {
  if (offset + length > size) throw new BlobInvalidRangeError(key, offset, length, size);
}

/** Upper bound on concurrent block uploads per writer; beyond this a caller has a bug, not a tuning. */
export const WRITER_MAX_BLOCKS_IN_FLIGHT = 64;

export interface ResolvedWriterSizing {
  blockSizeBytes: number;
  maxBlocksInFlight: number;
}

export function resolveWriterSizing(opts: WriterOptions, key: string): ResolvedWriterSizing {
  const blockSizeBytes = opts.blockSizeBytes ?? DEFAULT_WRITER_BLOCK_SIZE_BYTES;
  const maxBlocksInFlight = opts.maxBlocksInFlight ?? DEFAULT_WRITER_BLOCKS_IN_FLIGHT;
  // Azure Put Block: one block is at most 4,000 MiB.
  if (
    !Number.isSafeInteger(blockSizeBytes) ||
    blockSizeBytes < 1 ||
    blockSizeBytes > BLOCK_BLOB_MAX_BLOCK_SIZE_BYTES
  )
    throw new BlobInvalidArgumentError(
      `blockSizeBytes must be an integer in [1, ${BLOCK_BLOB_MAX_BLOCK_SIZE_BYTES}]`,
      key,
    );
  if (
    !Number.isSafeInteger(maxBlocksInFlight) ||
    maxBlocksInFlight < 1 ||
    maxBlocksInFlight > WRITER_MAX_BLOCKS_IN_FLIGHT
  )
    throw new BlobInvalidArgumentError(
      `maxBlocksInFlight must be an integer in [1, ${WRITER_MAX_BLOCKS_IN_FLIGHT}]`,
      key,
    );
  return { blockSizeBytes, maxBlocksInFlight };
}

/** Checks shared by `put` and `openWriter`. */
export function assertValidWrite(key: string, opts: PutOptions): void {
  assertValidKey(key);
  assertValidConditions(opts, key);
  if (opts.metadata) assertValidMetadata(opts.metadata, key);
}

/**
 * Evaluates write conditions against the current version (undefined if the key is missing).
 * Adapters that check conditions themselves (memory, local dir) call it inside their critical section.
 */
export function assertConditionsHold(
  key: string,
  currentEtag: string | undefined,
  conditions: WriteConditions,
): void {
  if (conditions.ifNoneMatch === '*' && currentEtag !== undefined) throw new BlobAlreadyExistsError(key);
  if (conditions.ifMatch !== undefined && conditions.ifMatch !== currentEtag)
    throw new BlobPreconditionFailedError(key);
}
