// Translates @azure/storage-blob errors into the BlobStore error contract, at the adapter's edge
// (as kopia's repo/blob/azure/azure_storage.go translateError does). `classifyAzureError` is the one
// place that decides what is retryable; it reads only plain fields, so tests can feed it fakes.
import {
  BlobAlreadyExistsError,
  BlobError,
  BlobFailedError,
  BlobInvalidRangeError,
  BlobLimitExceededError,
  BlobNotFoundError,
  BlobPreconditionFailedError,
  BlobTransientError,
} from './blobErrors';
import type { BlobOp } from './blobStore';

export type AzureErrorKind =
  | 'notFound'
  | 'alreadyExists'
  | 'preconditionFailed'
  | 'invalidRange'
  | 'limitExceeded'
  | 'transient'
  | 'failed';

/** What the failed call was, because the same status means different things for different calls. */
export interface AzureCallContext {
  op: BlobOp | 'ensureReady';
  key?: string;
  /** The write/delete condition the call carried, if any. */
  condition?: 'ifNoneMatch' | 'ifMatch';
  /** For getRange: the requested range, to make INVALID_RANGE messages useful. */
  range?: { offset: number; length: number };
}

// Node and core-rest-pipeline codes for a request that never got a complete answer. Mirrors the
// list in storage-common's StorageRetryPolicyV2, minus ENOENT (a local file error, not a network one).
const NETWORK_ERROR_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'TIMEOUT',
  'REQUEST_SEND_ERROR',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

// 408 request timeout, 429 throttled, 500 internal/OperationTimedOut, 502/504 gateway,
// 503 ServerBusy: Azure documents all of these as retryable.
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

interface ErrorFields {
  status: number | undefined;
  /** The storage error code (x-ms-error-code), e.g. 'BlobNotFound', or a Node/pipeline code. */
  code: string | undefined;
  name: string;
  message: string;
}

function fieldsOf(err: unknown): ErrorFields {
  if (typeof err !== 'object' || err === null)
    return { status: undefined, code: undefined, name: '', message: String(err) };
  const e = err as {
    statusCode?: unknown;
    code?: unknown;
    name?: unknown;
    message?: unknown;
    details?: { errorCode?: unknown };
  };
  // HEAD responses (getProperties) have no body, so the storage code is only in details.errorCode.
  const code = typeof e.code === 'string' ? e.code : e.details?.errorCode;
  return {
    status: typeof e.statusCode === 'number' ? e.statusCode : undefined,
    code: typeof code === 'string' ? code : undefined,
    name: typeof e.name === 'string' ? e.name : '',
    message: typeof e.message === 'string' ? e.message : '',
  };
}

export function classifyAzureError(err: unknown, ctx: AzureCallContext): AzureErrorKind {
  const { status, code, name, message } = fieldsOf(err);
  // Conditional writes. Azure (and Azurite) answer a second `If-None-Match: *` write with 409
  // BlobAlreadyExists and a stale `If-Match` with 412 ConditionNotMet; a 412 for an ifNoneMatch
  // call means the same thing as the 409.
  if (status === 409 && code === 'BlobAlreadyExists') return 'alreadyExists';
  if (status === 412 && (code === 'ConditionNotMet' || code === undefined))
    return ctx.condition === 'ifNoneMatch' ? 'alreadyExists' : 'preconditionFailed';
  // An ifMatch on a missing blob cannot match: our contract says PRECONDITION_FAILED, whichever of
  // 404 or 412 the service picks.
  if (status === 404 && ctx.condition === 'ifMatch') return 'preconditionFailed';
  if (status === 404) return 'notFound';
  if (status === 416 || code === 'InvalidRange') return 'invalidRange';
  // Put Block: more than 100,000 uncommitted blocks on one blob.
  if (code === 'BlockCountExceedsLimit' || code === 'RequestBodyTooLarge') return 'limitExceeded';
  if (status !== undefined && TRANSIENT_STATUSES.has(status)) return 'transient';
  if (status === undefined) {
    if (code !== undefined && NETWORK_ERROR_CODES.has(code)) return 'transient';
    // The SDK's per-try timeout and a dropped download stream surface as AbortError / premature close.
    if (name === 'AbortError' || name === 'TimeoutError') return 'transient';
    // A body cut short mid-XML (service timeout), as storage-common's retry policy also assumes.
    if (code === 'PARSE_ERROR' && message.includes('Unclosed root tag')) return 'transient';
  }
  return 'failed';
}

/** The BlobError for an SDK error; BlobErrors pass through unchanged. */
export function translateAzureError(err: unknown, ctx: AzureCallContext): BlobError {
  if (err instanceof BlobError) return err;
  const key = ctx.key ?? '';
  const cause = { cause: err };
  const { status, code } = fieldsOf(err);
  const what = `azure ${ctx.op} failed (${status ?? '-'} ${code ?? 'no code'})`;
  switch (classifyAzureError(err, ctx)) {
    case 'notFound':
      return new BlobNotFoundError(key, cause);
    case 'alreadyExists':
      return new BlobAlreadyExistsError(key, cause);
    case 'preconditionFailed':
      return new BlobPreconditionFailedError(key, cause);
    case 'invalidRange':
      return new BlobInvalidRangeError(key, ctx.range?.offset ?? 0, ctx.range?.length ?? 0);
    case 'limitExceeded':
      return new BlobLimitExceededError(what, ctx.key);
    case 'transient':
      return new BlobTransientError(what, ctx.key, cause);
    case 'failed':
      return new BlobFailedError(what, ctx.key, cause);
  }
}
