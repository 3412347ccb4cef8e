// Reads a disk image file in block-aligned reads of up to 4 MiB through the shared scan pipeline
// (diskScan.ts: reads ahead of the chunk being processed, zero check, id, dedup, sealing on the
// worker pool). With changed ranges from a parent, blocks outside them are taken from the parent's
// manifest without being read.
import { open } from 'node:fs/promises';
import type { BlockSink } from './blockSink';
import type { ByteRange, ChangedRanges, DiskImageSource } from './backupSource';
import { blockIdAt, blockLengthAt, newDiskBlockMap, type DiskBlockMap } from './diskManifest';
import { chunksOf, POOL_MIN_READ_BYTES, scanDisk } from './diskScan';
import { lazyBlockPool } from './blockWorkerPool';
import { BLOCK_ID_BYTES, EXTENT_KIND } from './formatIds';
import { ProgressMeter, type ProgressCallback } from './progress';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';

export {
  POOL_MIN_READ_BYTES,
  READ_CHUNK_BYTES,
  READ_GAP_MERGE_BYTES,
  HASH_CHUNKS_IN_FLIGHT,
  SEAL_BATCHES_IN_FLIGHT,
} from './diskScan';

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

    let toRead = 0;
    for (let b = 0; b < blocks; b += 1) if (mustRead[b]) toRead += blockLengthAt(map, b);
    const meter = new ProgressMeter(toRead, onProgress);
    const chunks = chunksOf(mustRead, bs);

    const read = async (_k: number, start: number, length: number, buf: Buffer): Promise<Buffer> => {
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

    // Sealing runs on worker threads for large reads, started at the first new block; a few MiB (a
    // tracked incremental) are not worth starting them for.
    const runner = toRead >= POOL_MIN_READ_BYTES ? lazyBlockPool(vault) : undefined;
    let bytesRead: number;
    try {
      bytesRead = await scanDisk({
        sink,
        blockSize: bs,
        diskSize,
        chunks,
        read,
        skip: (b) => !mustRead[b],
        record: (b, id) => {
          if (id === null) {
            map.kinds[b] = EXTENT_KIND.ZERO;
          } else {
            map.kinds[b] = EXTENT_KIND.DATA;
            id.copy(map.ids, b * BLOCK_ID_BYTES);
          }
        },
        meter,
        runner,
      });
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
