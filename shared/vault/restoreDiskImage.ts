// Restores a disk point to a file: written to a temp name beside the target (O_EXCL, O_NOFOLLOW),
// sized first so zero and unwritten extents stay holes, filled block by block (every block verified
// on read; O_DIRECT where the filesystem takes it), fsynced, then renamed over the target. On any failure the temp file is removed and no
// final file appears.
import { constants as fsConstants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
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
/** Contiguous blocks are gathered into writes of up to this size. */
export const WRITE_COALESCE_BYTES = 4 * 1024 * 1024;
/** Buffered writes of a restored file are fdatasync'ed in the background every this many bytes. */
export const BACKGROUND_SYNC_BYTES = 64 * 1024 * 1024;

export function tempNameFor(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${randomHexId(6)}.strongbox-tmp`);
}

/**
 * Gathers positioned writes into contiguous runs, so a 4 MiB run is one write(2), and writes
 * behind: a full run is written while the next one fills the other of two buffers.
 */
export class CoalescingWriter {
  private readonly bufs = [
    Buffer.allocUnsafe(WRITE_COALESCE_BYTES),
    Buffer.allocUnsafe(WRITE_COALESCE_BYTES),
  ];
  private cur = 0;
  private used = 0;
  private start = 0;
  /** The write of the other buffer, if one is running. It never rejects; see `failed`. */
  private inFlight: Promise<void> | undefined;
  private failed: { err: unknown } | undefined;
  bytesWritten = 0;
  /** A background fdatasync, started every `syncEveryBytes` (at most one at a time). */
  private syncing: Promise<void> | undefined;
  private unsynced = 0;

  /**
   * `syncEveryBytes`: start an fdatasync in the background after this many bytes, so the disk
   * writes back while blocks are still being decoded and the final sync has little left to do
   * (the kernel's own writeback starts only at dirty_background_ratio, ~10% of RAM).
   */
  constructor(
    private readonly handle: FileHandle,
    private readonly syncEveryBytes = 0,
  ) {}

  async write(data: Buffer, position: number): Promise<void> {
    this.throwIfFailed();
    const buf = this.bufs[this.cur]!;
    if (this.used > 0 && (position !== this.start + this.used || this.used + data.length > buf.length))
      await this.writeBehind();
    if (data.length > WRITE_COALESCE_BYTES) {
      await this.drain();
      await this.writeAll(data, position);
      return;
    }
    if (this.used === 0) this.start = position;
    data.copy(this.bufs[this.cur]!, this.used);
    this.used += data.length;
  }

  /** Writes everything gathered so far and waits for it (and for a background sync). */
  async flush(): Promise<void> {
    await this.writeBehind();
    await this.drain();
    await this.syncing;
    this.throwIfFailed();
  }

  /** Starts writing the current buffer (after the previous write) and switches to the other one. */
  private async writeBehind(): Promise<void> {
    if (this.used === 0) return;
    await this.drain();
    const data = this.bufs[this.cur]!.subarray(0, this.used);
    const position = this.start;
    this.inFlight = this.writeAll(data, position).catch((err: unknown) => {
      this.failed ??= { err };
    });
    this.cur ^= 1;
    this.used = 0;
  }

  private async drain(): Promise<void> {
    const running = this.inFlight;
    this.inFlight = undefined;
    await running;
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failed.err;
  }

  private async writeAll(data: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
    this.bytesWritten += data.length;
    this.unsynced += data.length;
    if (this.syncEveryBytes > 0 && this.unsynced >= this.syncEveryBytes && !this.syncing) {
      this.unsynced = 0;
      this.syncing = this.handle
        .datasync()
        .catch((err: unknown) => {
          this.failed ??= { err };
        })
        .finally(() => {
          this.syncing = undefined;
        });
    }
  }
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
