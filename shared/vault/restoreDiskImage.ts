// Restores a disk point to a file: written to a temp name beside the target (O_EXCL, O_NOFOLLOW),
// sized first so zero and unwritten extents stay holes, filled block by block (every block verified
// on read), fsynced, then renamed over the target. On any failure the temp file is removed and no
// final file appears.
import { constants as fsConstants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { readBlocks } from './blockReader';
import { blockIdAt, blockLengthAt, type DiskBlockMap } from './diskManifest';
import { EXTENT_KIND } from './formatIds';
import { randomHexId } from './hex';
import { ProgressMeter, type ProgressCallback } from './progress';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';

const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const TEMP_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | O_NOFOLLOW;
/** Contiguous blocks are gathered into writes of up to this size. */
export const WRITE_COALESCE_BYTES = 4 * 1024 * 1024;

export function tempNameFor(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${randomHexId(6)}.strongbox-tmp`);
}

/** Gathers positioned writes into contiguous runs, so a 4 MiB run is one write(2). */
export class CoalescingWriter {
  private readonly buf = Buffer.allocUnsafe(WRITE_COALESCE_BYTES);
  private used = 0;
  private start = 0;
  bytesWritten = 0;

  constructor(private readonly handle: FileHandle) {}

  async write(data: Buffer, position: number): Promise<void> {
    if (this.used > 0 && (position !== this.start + this.used || this.used + data.length > this.buf.length))
      await this.flush();
    if (this.used === 0) this.start = position;
    if (data.length > this.buf.length) {
      await this.writeAll(data, position);
      return;
    }
    data.copy(this.buf, this.used);
    this.used += data.length;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.writeAll(this.buf.subarray(0, this.used), this.start);
    this.used = 0;
  }

  private async writeAll(data: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
    this.bytesWritten += data.length;
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
    const out = new CoalescingWriter(handle);
    await readBlocks(
      vault,
      blocks.map((b) => blockIdAt(map, b)),
      async (i, plain) => {
        const b = blocks[i]!;
        if (plain.length !== blockLengthAt(map, b)) {
          throw new VaultError(
            VAULT_ERROR_CODES.METADATA_CORRUPT,
            `block ${b} of the disk has ${plain.length} bytes, expected ${blockLengthAt(map, b)}`,
          );
        }
        await out.write(plain, b * map.blockSize);
        meter.add(plain.length);
      },
    );
    await out.flush();
    await handle.sync();
    await handle.close();
    closed = true;
    await rename(temp, target);
    meter.finish();
    return { bytesWritten: out.bytesWritten };
  } catch (err) {
    if (!closed) await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}
