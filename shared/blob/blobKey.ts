// The key grammar shared by every adapter. It is deliberately narrower than Azure's blob names so
// that the same key is safe as a relative path on ext4, NTFS and exFAT (shipping drives) and can
// never escape a local root: lower case only (case-insensitive file systems would merge `A` and
// `a`), no `..`/`.` segments, no empty segments, no leading `/`, no backslashes, and no `~`, which
// adapters reserve for their own bookkeeping files. Widening it later is compatible; narrowing is not.
import { BlobInvalidKeyError } from './blobErrors';
import { BLOB_NAME_MAX_CHARS, BLOB_NAME_MAX_SEGMENTS } from './azureLimits';

/** ext4, NTFS and exFAT all cap one file name at 255 bytes (our alphabet is ASCII, so chars = bytes). */
export const KEY_SEGMENT_MAX_CHARS = 255;

const SEGMENT_CHARS = /^[a-z0-9._-]*$/;
const SEGMENT = /^[a-z0-9]([a-z0-9._-]*[a-z0-9_-])?$/;
// Windows refuses these names (with or without an extension) on any drive it mounts.
const WINDOWS_DEVICE_NAME = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/;

function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'empty segment (leading, trailing or doubled "/")';
  if (segment.length > KEY_SEGMENT_MAX_CHARS) return `segment longer than ${KEY_SEGMENT_MAX_CHARS} chars`;
  if (!SEGMENT_CHARS.test(segment))
    return `segment ${JSON.stringify(segment)} has characters outside [a-z0-9._-]`;
  if (!SEGMENT.test(segment))
    return `segment ${JSON.stringify(segment)} must start with [a-z0-9] and not end with "."`;
  if (WINDOWS_DEVICE_NAME.test(segment)) return `segment ${JSON.stringify(segment)} is a Windows device name`;
  return undefined;
}

/** Why `key` is not a valid key, or undefined if it is. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'empty key';
  // Azure: a blob name is at most 1,024 characters.
  if (key.length > BLOB_NAME_MAX_CHARS) return `longer than ${BLOB_NAME_MAX_CHARS} chars`;
  const segments = key.split('/');
  // Azure: a blob name has at most 254 path segments.
  if (segments.length > BLOB_NAME_MAX_SEGMENTS) return `more than ${BLOB_NAME_MAX_SEGMENTS} segments`;
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
  return undefined;
}

export function isValidKey(key: string): boolean {
  return keyProblem(key) === undefined;
}

export function assertValidKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new BlobInvalidKeyError(key, problem);
}

/**
 * A list prefix is '' or any start of a valid key: every segment before the last `/` is a valid
 * segment, and the part after it uses only key characters (it may be empty or partial, e.g. `packs/a`).
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix.length > BLOB_NAME_MAX_CHARS) throw new BlobInvalidKeyError(prefix, 'prefix too long');
  const segments = prefix.split('/');
  const last = segments.pop() ?? '';
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem) throw new BlobInvalidKeyError(prefix, problem);
  }
  if (!SEGMENT_CHARS.test(last))
    throw new BlobInvalidKeyError(prefix, 'prefix has characters outside [a-z0-9._-/]');
}
