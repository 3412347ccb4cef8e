// Translates Node fs errors into the BlobStore error contract for LocalDirBlobStore.
import { BlobError, BlobFailedError, BlobInvalidKeyError, BlobTransientError } from './blobErrors';

/** The errno code of a Node system error, or undefined. */
export function errnoOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

// Out of descriptors, interrupted, busy (Windows sharing violations show up as EBUSY/EPERM): the
// same call may well succeed shortly.
const TRANSIENT_ERRNOS = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR', 'ETIMEDOUT']);

/** `op` is a short verb for the message; the path is left out (the key identifies the object). */
export function translateFsError(err: unknown, op: string, key: string): BlobError {
  if (err instanceof BlobError) return err;
  const errno = errnoOf(err);
  if (errno === 'ENOTDIR' || errno === 'EISDIR')
    // A key can't be both an object and a directory of other objects on a file system.
    return new BlobInvalidKeyError(
      key,
      `${op}: it nests under, or is a parent of, another object (${errno})`,
    );
  if (errno !== undefined && TRANSIENT_ERRNOS.has(errno))
    return new BlobTransientError(`local ${op} failed (${errno})`, key, { cause: err });
  return new BlobFailedError(`local ${op} failed (${errno ?? 'unknown error'})`, key, { cause: err });
}
