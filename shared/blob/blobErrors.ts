// The BlobStore error contract. Every adapter throws only these (SDK and errno errors are translated
// at the adapter's edge), so callers branch on `code`, never on a technology's own errors.
import { StrongboxError, hasErrorCode, type StrongboxErrorOptions } from '../errors';

export const BLOB_ERROR_CODES = {
  /** The key does not exist (get, getRange). */
  NOT_FOUND: 'BLOB.NOT_FOUND',
  /** A write with `ifNoneMatch: '*'` found the key already present. */
  ALREADY_EXISTS: 'BLOB.ALREADY_EXISTS',
  /** An `ifMatch` etag did not match the current version, or the key is missing. */
  PRECONDITION_FAILED: 'BLOB.PRECONDITION_FAILED',
  /** 5xx, timeout, connection reset, lock contention: the same call may succeed if retried. */
  TRANSIENT: 'BLOB.TRANSIENT',
  /** The key (or list prefix) breaks the key grammar in blobKey.ts. */
  INVALID_KEY: 'BLOB.INVALID_KEY',
  /** The requested byte range is not inside the object. */
  INVALID_RANGE: 'BLOB.INVALID_RANGE',
  /** Bad metadata, bad options, or a writer used after commit/abort. */
  INVALID_ARGUMENT: 'BLOB.INVALID_ARGUMENT',
  /** A service limit would be exceeded (block count, single-shot size, uncommitted block lifetime). */
  LIMIT_EXCEEDED: 'BLOB.LIMIT_EXCEEDED',
  /** Anything else (authorization, disk full, unexpected responses). Not worth retrying as is. */
  FAILED: 'BLOB.FAILED',
} as const;

export type BlobErrorCode = (typeof BLOB_ERROR_CODES)[keyof typeof BLOB_ERROR_CODES];

export class BlobError extends StrongboxError {
  declare readonly code: BlobErrorCode;
  /** The key the operation was about, when there is one (never a URL or a SAS). */
  readonly key: string | undefined;

  constructor(code: BlobErrorCode, message: string, key?: string, options?: StrongboxErrorOptions) {
    super(code, message, options);
    this.key = key;
  }
}

export class BlobNotFoundError extends BlobError {
  constructor(key: string, options?: StrongboxErrorOptions) {
    super(BLOB_ERROR_CODES.NOT_FOUND, `blob not found: ${key}`, key, options);
  }
}

export class BlobAlreadyExistsError extends BlobError {
  constructor(key: string, options?: StrongboxErrorOptions) {
    super(BLOB_ERROR_CODES.ALREADY_EXISTS, `blob already exists: ${key}`, key, options);
  }
}

export class BlobPreconditionFailedError extends BlobError {
  constructor(key: string, options?: StrongboxErrorOptions) {
    super(
      BLOB_ERROR_CODES.PRECONDITION_FAILED,
      `blob changed or missing (ifMatch failed): ${key}`,
      key,
      options,
    );
  }
}

export class BlobTransientError extends BlobError {
  constructor(message: string, key?: string, options?: StrongboxErrorOptions) {
    super(BLOB_ERROR_CODES.TRANSIENT, message, key, options);
  }
}

export class BlobInvalidKeyError extends BlobError {
  constructor(key: string, reason: string) {
    super(BLOB_ERROR_CODES.INVALID_KEY, `invalid blob key ${JSON.stringify(key)}: ${reason}`, key);
  }
}

export class BlobInvalidRangeError extends BlobError {
  constructor(key: string, offset: number, length: number, size?: number) {
    const of = size === undefined ? '' : ` of a ${size}-byte blob`;
    super(BLOB_ERROR_CODES.INVALID_RANGE, `range [${offset}, +${length}) is outside ${key}${of}`, key);
  }
}

export class BlobInvalidArgumentError extends BlobError {
  constructor(message: string, key?: string) {
    super(BLOB_ERROR_CODES.INVALID_ARGUMENT, message, key);
  }
}

export class BlobLimitExceededError extends BlobError {
  constructor(message: string, key?: string) {
    super(BLOB_ERROR_CODES.LIMIT_EXCEEDED, message, key);
  }
}

export class BlobFailedError extends BlobError {
  constructor(message: string, key?: string, options?: StrongboxErrorOptions) {
    super(BLOB_ERROR_CODES.FAILED, message, key, options);
  }
}

/** Worth retrying? Decided by code alone, so it also works on errors rebuilt from a message. */
export function isTransientBlobError(err: unknown): boolean {
  return hasErrorCode(err, BLOB_ERROR_CODES.TRANSIENT);
}
