// Restore never writes outside its target (reliability.md row 23, restic restorer.go): every name
// from a manifest is checked before it is joined to a path, because a manifest may be crafted.
import * as path from 'node:path';

/** Longest name most file systems accept (ext4, NTFS: 255). */
export const MAX_NAME_BYTES = 255;

/** Why `name` may not be used as one path segment, or undefined if it is safe. */
export function unsafeNameReason(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return `reserved name ${JSON.stringify(name)}`;
  if (name.includes('\0')) return 'contains NUL';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator';
  if (path.isAbsolute(name) || path.win32.isAbsolute(name)) return 'is an absolute path';
  if (process.platform === 'win32' && name.includes(':')) return 'contains a drive or stream separator';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}
