// Reads a disk image in block-aligned reads of up to 4 MiB (performance.md §3: large reads; the
// next read is issued before the current chunk is processed), cuts them into fixed blocks, and feeds
// the BlockSink. All-zero blocks are detected by comparison, not stored. With changed ranges from a
// parent, blocks outside them are taken from the parent's manifest without being read.
import { open } from 'node:fs/promises';
import type { BlockSink, SubmittedBatch } from './blockSink';
import type { ByteRange, ChangedRanges, DiskImageSource } from './backupSource';
import { blockIdAt, blockLengthAt, newDiskBlockMap, type DiskBlockMap } from './diskManifest';
import { lazyBlockPool } from './blockWorkerPool';
import { BLOCK_ID_BYTES, EXTENT_KIND } from './formatIds';
import type { ProgressMeter, ProgressCallback } from './progress';
import { ProgressMeter as Meter } from './progress';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';

/** performance.md §3: 4 MiB reads; smaller ones cost CPU per byte, larger ones gain nothing. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Unchanged blocks between two changed ones are read along (not skipped) up to this gap. */
export const READ_GAP_MERGE_BYTES = 128 * 1024;
/** Reads issued ahead of the chunk being processed (performance.md §6: cold reads need 2–4). */
export const READS_IN_FLIGHT = 2;
/** Chunks (≤ 4 MiB each) being sealed at once; bounds memory to a few tens of MB. */
export const SEAL_BATCHES_IN_FLIGHT = 3;
/** Below this many bytes to read, blocks are sealed in the calling thread (no worker start-up). */
export const POOL_MIN_READ_BYTES = 64 * 1024 * 1024;

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

    // Reads as [first block, end block): runs of blocks to read, joined across gaps of at most
    // READ_GAP_MERGE_BYTES (one read beats two), each at most READ_CHUNK_BYTES. A full read gives
    // aligned 4 MiB chunks; a tracked incremental reads only around the changed blocks.
    const maxGapBlocks = Math.floor(READ_GAP_MERGE_BYTES / bs);
    const chunks: [number, number][] = [];
    for (let b = 0; b < blocks;) {
      if (!mustRead[b]) {
        b += 1;
        continue;
      }
      const lo = b;
      const limit = Math.min(blocks, lo + blocksPerChunk);
      let hi = b + 1;
      for (b = hi; b < limit; b += 1) {
        if (mustRead[b]) hi = b + 1;
        else if (b - hi >= maxGapBlocks) break;
      }
      chunks.push([lo, hi]);
      b = hi;
    }

    // READS_IN_FLIGHT reads run ahead of the chunk being submitted: one buffer each, plus that
    // chunk's, which is free again once submit() has copied out the blocks to seal.
    const buffers = Array.from({ length: READS_IN_FLIGHT + 1 }, () => Buffer.allocUnsafe(READ_CHUNK_BYTES));
    const readChunk = async (k: number): Promise<Buffer> => {
      const [lo, hi] = chunks[k]!;
      const start = lo * bs;
      const length = Math.min(diskSize, hi * bs) - start;
      const buf = buffers[k % buffers.length]!;
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
    const reads: Promise<Buffer>[] = [];
    let nextRead = 0;
    const startRead = (): void => {
      if (nextRead >= chunks.length) return;
      const read = readChunk(nextRead);
      nextRead += 1;
      // Keep a read-ahead from becoming an unhandled rejection if processing throws first.
      read.catch(() => undefined);
      reads.push(read);
    };

    // Sealing runs on worker threads for large reads, started at the first new block; a few MiB (a
    // tracked incremental) are not worth starting them for.
    const runner = toRead >= POOL_MIN_READ_BYTES ? lazyBlockPool(vault) : undefined;
    let bytesRead = 0;
    try {
      for (let r = 0; r < READS_IN_FLIGHT; r += 1) startRead();
      const sealing: SubmittedBatch[] = [];
      for (let k = 0; k < chunks.length; k += 1) {
        const data = await reads.shift()!;
        bytesRead += data.length;
        const [lo, hi] = chunks[k]!;
        const plains: Buffer[] = [];
        const which: number[] = [];
        for (let b = lo; b < hi; b += 1) {
          if (!mustRead[b]) continue;
          const at = (b - lo) * bs;
          plains.push(data.subarray(at, at + blockLengthAt(map, b)));
          which.push(b);
        }
        const batch = sink.submit(plains, runner);
        startRead(); // into this chunk's buffer: submit() copied what it needs
        which.forEach((b, n) => {
          const id = batch.ids[n];
          if (id === null || id === undefined) {
            map.kinds[b] = EXTENT_KIND.ZERO;
          } else {
            map.kinds[b] = EXTENT_KIND.DATA;
            id.copy(map.ids, b * BLOCK_ID_BYTES);
          }
          meter.add(plains[n]!.length);
        });
        sealing.push(batch);
        while (sealing.length > SEAL_BATCHES_IN_FLIGHT) await sink.commit(sealing.shift()!);
      }
      for (const batch of sealing.splice(0)) await sink.commit(batch);
    } finally {
      await runner?.close();
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
