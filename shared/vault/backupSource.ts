// What a backup reads from, and the ChangedRanges port that lets it read less.

/** A raw disk image file (or a block device path), backed up as fixed blocks aligned to offsets. */
export interface DiskImageSource {
  kind: 'diskImage';
  path: string;
  /** Shown in the recovery point; defaults to the path's base name. */
  name?: string;
}

/** A directory tree: files, folders and symlinks (stored as links, never followed). */
export interface DirectoryTreeSource {
  kind: 'directoryTree';
  path: string;
  name?: string;
}

export type BackupSource = DiskImageSource | DirectoryTreeSource;

export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * Ranges written since `sinceToken`, or every written range when `sinceToken` is undefined (bytes
 * outside them are then recorded as unwritten), plus a token for next time. 'unknown' when the
 * source cannot tell: the backup then reads and hashes everything, and dedup against the index
 * keeps the upload small. Page blobs (Get Page Ranges diff) implement this later.
 */
export type ChangedRangesResult = { ranges: readonly ByteRange[]; token: string } | 'unknown';

export interface ChangedRanges {
  changedRanges(source: BackupSource, sinceToken: string | undefined): Promise<ChangedRangesResult>;
}

/**
 * A disk that is not a local file (a VM disk's page-blob snapshot, say), read by offset. The port of
 * segmented disk backups (diskSegments.ts). `read` returns exactly `length` bytes; a shorter answer
 * fails the segment with VAULT.SOURCE_UNREADABLE. Reads are at most 4 MiB, block-aligned except at
 * the end of the disk, and up to HASH_CHUNKS_IN_FLIGHT (4) are outstanding at once.
 */
export interface DiskReader {
  read(offset: number, length: number): Promise<Buffer>;
}
