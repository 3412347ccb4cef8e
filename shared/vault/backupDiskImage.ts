// Reads a disk image in 4 MiB, block-aligned chunks (performance.md §3: large reads; the next read
// is issued before the current chunk is processed), cuts them into fixed blocks, and feeds the
// BlockSink. All-zero blocks are detected by comparison, not stored. With changed ranges from a
// parent, blocks outside them are taken from the parent's manifest without being read.
import { open } from 'node:fs/promises';
import type { BlockSink } from './blockSink';
import type { ByteRange, ChangedRanges, DiskImageSource } from './backupSource';
import { blockIdAt, blockLengthAt, newDiskBlockMap, type DiskBlockMap } from './diskManifest';
import { BLOCK_ID_BYTES, EXTENT_KIND } from './formatIds';
import type { ProgressMeter, ProgressCallback } from './progress';
import { ProgressMeter as Meter } from './progress';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';

/** performance.md §3: 4 MiB reads; smaller ones cost CPU per byte, larger ones gain nothing. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;

export interface DiskScanResult {
  map: DiskBlockMap;
  bytesRead: number;
  changeToken: string | undefined;
}

export async function backupDiskImage(
  vault: Vault,
  source: DiskImageSource,
  sink: BlockSink,
  parent: DiskBlockMap | undefined,
  parentToken: string | undefined,
  changedRanges: ChangedRanges | undefined,
  onProgress: ProgressCallback | undefined,
): Promise<DiskScanResult> {
  const handle = await open(source.path, 'r').catch((err: unknown) => {
    throw new VaultError(
      VAULT_ERROR_CODES.SOURCE_UNREADABLE,
      `cannot open disk image ${source.path}`,
      {},
      { cause: err },
    );
  });
  try {
    const diskSize = (await handle.stat()).size;
    const bs = vault.config.blockSizeBytes;
    const map = newDiskBlockMap(diskSize, bs);
    const blocks = map.kinds.length;

    // Which blocks must be read: all, unless a ChangedRanges answer lets us skip some.
    const mustRead = new Uint8Array(blocks).fill(1);
    let changeToken: string | undefined;
    if (changedRanges) {
      const usable = parent === undefined || parent.diskSize === diskSize; // a resized disk is read whole
      const answer = usable
        ? await changedRanges.changedRanges(source, parent ? parentToken : undefined)
        : 'unknown';
      if (answer !== 'unknown') {
        changeToken = answer.token;
        markRanges(mustRead, answer.ranges, bs, diskSize);
        for (let b = 0; b < blocks; b += 1) {
          if (mustRead[b]) continue;
          if (!parent) {
            map.kinds[b] = EXTENT_KIND.UNWRITTEN;
          } else if (parent.kinds[b] === EXTENT_KIND.DATA && !vault.index.has(blockIdAt(parent, b))) {
            mustRead[b] = 1; // the parent's block is gone from the index: read it again
          } else {
            map.kinds[b] = parent.kinds[b]!;
            parent.ids.copy(map.ids, b * BLOCK_ID_BYTES, b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES);
          }
        }
      }
    }

    const blocksPerChunk = READ_CHUNK_BYTES / bs;
    let toRead = 0;
    for (let b = 0; b < blocks; b += 1) if (mustRead[b]) toRead += blockLengthAt(map, b);
    const meter: ProgressMeter = new Meter(toRead, onProgress);
    const buffers = [Buffer.allocUnsafe(READ_CHUNK_BYTES), Buffer.allocUnsafe(READ_CHUNK_BYTES)];

    // Chunks that hold at least one block to read, as [first block, end block).
    const chunks: [number, number][] = [];
    for (let first = 0; first < blocks; first += blocksPerChunk) {
      const end = Math.min(blocks, first + blocksPerChunk);
      let lo = first;
      while (lo < end && !mustRead[lo]) lo += 1;
      if (lo === end) continue;
      let hi = end;
      while (!mustRead[hi - 1]) hi -= 1;
      chunks.push([lo, hi]);
    }
    const readChunk = async (k: number): Promise<Buffer> => {
      const [lo, hi] = chunks[k]!;
      const start = lo * bs;
      const length = Math.min(diskSize, hi * bs) - start;
      const buf = buffers[k % 2]!;
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(buf, got, length - got, start + got);
        if (bytesRead === 0) {
          throw new VaultError(VAULT_ERROR_CODES.SOURCE_UNREADABLE, `${source.path} shrank while being read`);
        }
        got += bytesRead;
      }
      return buf.subarray(0, length);
    };

    let bytesRead = 0;
    let next = chunks.length > 0 ? readChunk(0) : undefined;
    for (let k = 0; k < chunks.length; k += 1) {
      const data = await next!;
      next = k + 1 < chunks.length ? readChunk(k + 1) : undefined;
      // Keep the prefetch from becoming an unhandled rejection if processing below throws first.
      next?.catch(() => undefined);
      bytesRead += data.length;
      const [lo, hi] = chunks[k]!;
      for (let b = lo; b < hi; b += 1) {
        if (!mustRead[b]) continue;
        const at = (b - lo) * bs;
        const plain = data.subarray(at, at + blockLengthAt(map, b));
        const id = await sink.put(plain);
        if (id === null) {
          map.kinds[b] = EXTENT_KIND.ZERO;
        } else {
          map.kinds[b] = EXTENT_KIND.DATA;
          id.copy(map.ids, b * BLOCK_ID_BYTES);
        }
        meter.add(plain.length);
      }
    }
    meter.finish();
    return { map, bytesRead, changeToken };
  } finally {
    await handle.close();
  }
}

function markRanges(mustRead: Uint8Array, ranges: readonly ByteRange[], bs: number, diskSize: number): void {
  mustRead.fill(0);
  for (const r of ranges) {
    if (r.length <= 0) continue;
    const first = Math.floor(Math.max(0, r.offset) / bs);
    const end = Math.ceil(Math.min(diskSize, r.offset + r.length) / bs);
    mustRead.fill(1, first, Math.max(first, end));
  }
}
