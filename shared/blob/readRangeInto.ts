// readRangeInto(): the BlobStore's optional read-into-buffer call, with a fallback for adapters
// that lack it (getRange, then one copy), so callers can always lend a reused buffer.
import { BlobInvalidArgumentError } from './blobErrors';
import type { BlobStore } from './blobStore';
import { assertValidRangeArgs } from './blobValidation';

/**
 * Reads `length` bytes from `offset` of `key` into `into` (from index 0) and returns the view of
 * `into` that holds them. Errors as BlobStore.getRange, plus INVALID_ARGUMENT if `into` is too short.
 * A faulty store may return fewer bytes (a short read); callers check the length.
 */
export async function readRangeInto(
  store: BlobStore,
  key: string,
  offset: number,
  length: number,
  into: Uint8Array,
): Promise<Uint8Array> {
  assertIntoFits(key, offset, length, into);
  if (store.getRangeInto) return store.getRangeInto(key, offset, length, into);
  const data = await store.getRange(key, offset, length);
  // Never write past `into` even if the adapter misbehaved and returned more than asked.
  const n = Math.min(data.byteLength, into.byteLength);
  into.set(n === data.byteLength ? data : data.subarray(0, n));
  return into.subarray(0, n);
}

/** The shared argument checks of getRangeInto: the range's own, then `into` holds `length` bytes. */
export function assertIntoFits(key: string, offset: number, length: number, into: Uint8Array): void {
  assertValidRangeArgs(key, offset, length);
  if (into.byteLength < length)
    throw new BlobInvalidArgumentError(
      `buffer of ${into.byteLength} bytes is shorter than the ${length}-byte range`,
      key,
    );
}
