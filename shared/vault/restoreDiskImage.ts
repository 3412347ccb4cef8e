// Restores a disk point to a file: written to a temp name beside the target (O_EXCL, O_NOFOLLOW),
// sized first so zero and unwritten extents stay holes, filled block by block (every block verified
// on read; O_DIRECT where the filesystem takes it), fsynced, then renamed over the target. On any
// failure the temp file is removed and no final file appears.
import { constants as fsConstants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { writeBlocks } from './blockReader';
import { DirectFileWriter } from './directFileWriter';
import { blockIdAt, blockLengthAt, type DiskBlockMap } from './diskManifest';
import { EXTENT_KIND } from './formatIds';
import { randomHexId } from './hex';
import { ProgressMeter, type ProgressCallback } from './progress';
import type { Vault } from './vault';

const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const TEMP_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | O_NOFOLLOW;
/** Buffered writes of a restored file are fdatasync'ed in the background every this many bytes. */
export const BACKGROUND_SYNC_BYTES = 64 * 1024 * 1024;

export function tempNameFor(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${randomHexId(6)}.strongbox-tmp`);
}

export async function restoreDiskImage(
  vault: Vault,
  map: DiskBlockMap,
  target: string,
  onProgress: ProgressCallback | undefined,
): Promise<{ bytesWritten: number }> {
  const blocks: number[] = [];
  for (let b = 0; b < map.kinds.length; b += 1) if (map.kinds[b] === EXTENT_KIND.DATA) blocks.push(b);
  const meter = new ProgressMeter(
    blocks.reduce((n, b) => n + blockLengthAt(map, b), 0),
    onProgress,
  );
  const temp = tempNameFor(target);
  const handle = await open(temp, TEMP_FLAGS, 0o600);
  let closed = false;
  try {
    await handle.truncate(map.diskSize);
    // Blocks are opened on the worker pool into shared, page-aligned buffers and written from them
    // in any order (writeBlocks), with O_DIRECT where the filesystem allows (directFileWriter.ts).
    const out = await DirectFileWriter.over(handle, temp, { syncEveryBytes: BACKGROUND_SYNC_BYTES });
    let bytesWritten = 0;
    try {
      await writeBlocks(
        vault,
        blocks.map((b) => blockIdAt(map, b)),
        {
          write: (position, data) => out.write(position, data),
          positions: blocks.map((b) => b * map.blockSize),
          lengths: blocks.map((b) => blockLengthAt(map, b)),
          onWritten: (bytes) => {
            bytesWritten += bytes;
            meter.add(bytes);
          },
        },
      );
      await out.sync();
    } finally {
      // The data is synced through `handle` by now; a failing close of the direct handle must not
      // hide a restore error either.
      await out.close().catch(() => undefined);
    }
    await handle.close();
    closed = true;
    await rename(temp, target);
    meter.finish();
    return { bytesWritten };
  } catch (err) {
    if (!closed) await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}
