// Where LocalDirBlobStore keeps things under its root, and how it names versions.
//
//   <root>/<key>                                   the object's bytes, exactly (no header), so a
//                                                  root can be copied or imported as blobs as is
//   <root>/<dir of key>/.<name>.<random>.tmp       a write in progress (same dir, so rename is atomic)
//   <root>/.strongbox/meta/<key>~/<etag>.json      metadata of one version, only if it has any
//   <root>/.strongbox/locks/<key>~.lock            a key's writer lock (O_EXCL lock file)
//
// Keys never contain `~` and no segment starts with `.`, so none of these bookkeeping names can
// collide with an object or with a directory of objects, and `list` can skip them by name.
import * as path from 'node:path';
import type { BigIntStats } from 'node:fs';
import { assertValidKey } from './blobKey';

export const BOOKKEEPING_DIR = '.strongbox';

export class LocalDirLayout {
  constructor(readonly root: string) {}

  /** The object's path. The key grammar (validated here) guarantees it stays under the root. */
  objectPath(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  tempPath(key: string, nonce: string): string {
    const objectPath = this.objectPath(key);
    return path.join(path.dirname(objectPath), `.${path.basename(objectPath)}.${nonce}.tmp`);
  }

  metadataDir(key: string): string {
    assertValidKey(key);
    return `${path.join(this.root, BOOKKEEPING_DIR, 'meta', ...key.split('/'))}~`;
  }

  metadataPath(key: string, etag: string): string {
    return path.join(this.metadataDir(key), `${etag}.json`);
  }

  lockPath(key: string): string {
    assertValidKey(key);
    return `${path.join(this.root, BOOKKEEPING_DIR, 'locks', ...key.split('/'))}~.lock`;
  }
}

/**
 * A version's etag: inode, size and modification time in nanoseconds, from one stat.
 * Why not a content hash: it would cost a full read (or a stored copy) on every stat. Why not a
 * random id in a header: the file would no longer be the blob's exact bytes. Every write creates a
 * new file (new inode) while the old one still exists, so the etag changes on every write; a false
 * match needs a delete, inode reuse and the same size and nanosecond mtime. Filesystems with coarse
 * times (FAT: 2 s, exFAT: 10 ms) or unstable inode numbers (exFAT on Linux renumbers per mount) make
 * false "changed" answers (safe) more likely, not false matches, except for the inode-reuse case.
 */
export function etagOf(st: BigIntStats): string {
  return `l-${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}`;
}
