// restoreDisk(): a disk point (of any disk source) written through a DiskWriter, e.g. a page blob
// being created for a restored VM disk. The target is pre-zeroed (sparse), so zero and unwritten
// blocks are skipped. Blocks are fetched in coalesced ranged reads, several at once, opened on the
// worker pool (every block verified before it is written) and written in any order by writeBlocks;
// writes are at most 4 MiB (Azure Put Page's limit). `range` restores one piece, so a caller can fan
// a large disk out over activities.
import type { ByteRange } from './backupSource';
import { writeBlocks } from './blockReader';
import { blockIdAt, blockLengthAt } from './diskManifest';
import { EXTENT_KIND } from './formatIds';
import { readDiskManifest } from './manifestStore';
import { ProgressMeter, type ProgressCallback } from './progress';
import { readPoint } from './recoveryPoint';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';

/**
 * Where a restored disk goes. The target reads as zeros where nothing is written (a new page blob, a
 * sparse file). `write` may be called with several writes outstanding (about RESTORE_WRITES_IN_FLIGHT
 * per worker thread), at non-overlapping offsets, in any order; `data` is a view of a reused shared
 * buffer: the writer must not keep a reference to it once its promise resolves.
 */
export interface DiskWriter {
  write(offset: number, data: Buffer): Promise<void>;
}

export interface RestoreDiskOptions {
  /** Restore only these bytes of the disk (default: all). Block-aligned pieces avoid partial blocks. */
  range?: ByteRange;
  onProgress?: ProgressCallback;
}

export interface RestoreDiskResult {
  /** Bytes passed to the writer (data blocks inside the range). */
  bytesWritten: number;
  sizeBytes: number;
}

/** Azure Put Page takes at most 4 MiB per call; larger writes gain nothing on a file either. */
export const RESTORE_WRITE_MAX_BYTES = 4 * 1024 * 1024;
/** Jobs (each a coalesced read, opened, then written) in flight per worker thread: a network target
 *  needs several writes outstanding to keep its pipe full. */
export const RESTORE_WRITES_IN_FLIGHT = 4;

export async function restoreDisk(
  vault: Vault,
  pointId: string,
  writer: DiskWriter,
  opts: RestoreDiskOptions = {},
): Promise<RestoreDiskResult> {
  const point = await readPoint(vault, pointId);
  const manifest = point.manifests.find((m) => m.kind === 'disk');
  if (!manifest) {
    throw new VaultError(
      VAULT_ERROR_CODES.INVALID_ARGUMENT,
      `point ${pointId} is a ${point.source.kind}, not a disk`,
    );
  }
  const map = await readDiskManifest(vault, manifest.id);
  const size = map.diskSize;
  const bs = map.blockSize;
  const range = opts.range ?? { offset: 0, length: size };
  if (
    !Number.isSafeInteger(range.offset) ||
    !Number.isSafeInteger(range.length) ||
    range.offset < 0 ||
    range.length < 0 ||
    range.offset + range.length > size
  ) {
    throw new VaultError(
      VAULT_ERROR_CODES.INVALID_ARGUMENT,
      `range ${JSON.stringify(range)} is not inside the disk (${size} bytes)`,
    );
  }
  const start = range.offset;
  const end = range.offset + range.length;
  const blocks: number[] = [];
  let total = 0;
  if (end > start) {
    for (let b = Math.floor(start / bs); b < Math.ceil(end / bs); b += 1) {
      if (map.kinds[b] !== EXTENT_KIND.DATA) continue;
      blocks.push(b);
      total += Math.min(end, b * bs + blockLengthAt(map, b)) - Math.max(start, b * bs);
    }
  }
  const meter = new ProgressMeter(total, opts.onProgress);
  let bytesWritten = 0;
  // Several writes are in flight: one per job being written (writeBlocks), each split into pieces
  // of at most RESTORE_WRITE_MAX_BYTES and clipped to the range.
  await writeBlocks(
    vault,
    blocks.map((b) => blockIdAt(map, b)),
    {
      positions: blocks.map((b) => b * bs),
      lengths: blocks.map((b) => blockLengthAt(map, b)),
      write: async (position, data) => {
        const from = Math.max(start, position);
        const to = Math.min(end, position + data.length);
        for (let at = from; at < to; at += RESTORE_WRITE_MAX_BYTES) {
          const piece = data.subarray(at - position, Math.min(to, at + RESTORE_WRITE_MAX_BYTES) - position);
          await writer.write(at, piece);
          bytesWritten += piece.length;
          meter.add(piece.length);
        }
      },
    },
    { jobsPerThread: RESTORE_WRITES_IN_FLIGHT },
  );
  meter.finish();
  return { bytesWritten, sizeBytes: size };
}
