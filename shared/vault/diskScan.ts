// The read → hash → classify → seal pipeline shared by every disk source: a disk image file
// (backupDiskImage.ts) and a disk read through a DiskReader (diskSegments.ts). Reads of up to
// 4 MiB into a fixed pool of buffers, HASH_CHUNKS_IN_FLIGHT of them read and hashed ahead of the
// chunk being classified by the BlockSink, at most SEAL_BATCHES_IN_FLIGHT being sealed, so memory
// stays bounded whatever the disk size. One codec path: every block goes through the BlockSink
// (submitHashed/commit) and the block jobs (blockJobs.ts).
import type { BlockJobResult } from './blockJobs';
import type { BlockSink, SubmittedBatch } from './blockSink';
import type { BlockJobRunner } from './blockWorkerPool';
import type { ProgressMeter } from './progress';

/** performance.md §3: 4 MiB reads; smaller ones cost CPU per byte, larger ones gain nothing. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Unchanged blocks between two changed ones are read along (not skipped) up to this gap. */
export const READ_GAP_MERGE_BYTES = 128 * 1024;
/** Chunks (≤ 4 MiB each) being sealed at once; bounds memory to a few tens of MB. */
export const SEAL_BATCHES_IN_FLIGHT = 3;
/** Below this many bytes to read, blocks are sealed in the calling thread (no worker start-up). */
export const POOL_MIN_READ_BYTES = 64 * 1024 * 1024;

/** Blocks [lo, hi) read with one call. */
export type ReadChunk = readonly [lo: number, hi: number];

/**
 * Groups the blocks where `mustRead` is set into reads: runs joined across gaps of at most
 * READ_GAP_MERGE_BYTES (one read beats two), each at most READ_CHUNK_BYTES. A full read gives
 * aligned 4 MiB chunks; a tracked incremental reads only around the changed blocks.
 */
export function chunksOf(mustRead: Uint8Array, blockSize: number): ReadChunk[] {
  const blocks = mustRead.length;
  const blocksPerChunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / blockSize));
  const maxGapBlocks = Math.floor(READ_GAP_MERGE_BYTES / blockSize);
  const chunks: ReadChunk[] = [];
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
  return chunks;
}

/** Splits block runs [lo, hi) into reads of at most READ_CHUNK_BYTES, in order. */
export function chunksOfRuns(runs: readonly ReadChunk[], blockSize: number): ReadChunk[] {
  const blocksPerChunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / blockSize));
  const chunks: ReadChunk[] = [];
  for (const [lo, hi] of runs)
    for (let b = lo; b < hi; b += blocksPerChunk) chunks.push([b, Math.min(hi, b + blocksPerChunk)]);
  return chunks;
}

export interface DiskScanInput {
  sink: BlockSink;
  blockSize: number;
  diskSize: number;
  chunks: readonly ReadChunk[];
  /**
   * Reads chunk `k` (bytes [lo × blockSize, min(diskSize, hi × blockSize)) ) into `buf` (at least
   * `length` long) and returns the bytes read: a view of `buf`, or another buffer (then copied in).
   */
  read: (k: number, offset: number, length: number, buf: Buffer) => Promise<Buffer>;
  /** Blocks of a chunk not to process (read along across a gap); default: every block. */
  skip?: (block: number) => boolean;
  /** The outcome of each processed block, in order: its id, or null for an all-zero block. */
  record: (block: number, id: Buffer | null) => void;
  meter: ProgressMeter;
  /** Worker pool for hashing and sealing; default: the sink's runner (the calling thread). */
  runner: BlockJobRunner | undefined;
}

/** Chunks read and being hashed at once, ahead of the one being classified. */
export const HASH_CHUNKS_IN_FLIGHT = 4;

interface HashedChunk {
  k: number;
  /** The chunk's bytes: a view of a pool buffer (lent to the hash job and back). */
  data: Uint8Array;
  /** Processed blocks of the chunk, and their spans in `data`. */
  blocks: number[];
  spans: Uint32Array;
  hashed: BlockJobResult;
}

/**
 * Reads, classifies and seals every chunk; returns the bytes read. The caller finishes the sink.
 *
 * Each chunk is read into a buffer of a fixed pool, hashed (zero check + HMAC) as one job, then, in
 * chunk order, classified by the sink (dedup against the index and the blocks in flight), and its
 * new blocks sealed as a second job straight from the same buffer into a pooled output buffer;
 * records are appended to packs in order. With a worker pool the main thread only moves buffers,
 * looks ids up and writes packs; buffers are lent to the workers (transferred, not copied) and
 * reused, so steady state allocates almost nothing (garbage collection was 16% of a backup's main
 * thread before). Memory: BUFFERS × 4 MiB in, SEAL_BATCHES_IN_FLIGHT + 1 output buffers.
 */
export async function scanDisk(input: DiskScanInput): Promise<number> {
  const { sink, blockSize: bs, diskSize, chunks } = input;
  const runner = input.runner ?? sink.runner;
  const free: Uint8Array[] = [];
  const bufferCount = Math.min(chunks.length, HASH_CHUNKS_IN_FLIGHT + SEAL_BATCHES_IN_FLIGHT + 1);
  // Shared memory: a job's buffers are handed to a worker and back without a transfer, so nothing
  // is re-registered with either heap (transfers counted as new external memory and drove GC).
  const alloc = (bytes: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(bytes));
  for (let i = 0; i < bufferCount; i += 1) free.push(alloc(READ_CHUNK_BYTES));
  const outs: Uint8Array[] = [];
  const giveBack = (a: Uint8Array | undefined, to: Uint8Array[]): void => {
    if (a) to.push(new Uint8Array(a.buffer, 0, a.buffer.byteLength));
  };

  const readAndHash = async (k: number, buf: Uint8Array): Promise<HashedChunk> => {
    const [lo, hi] = chunks[k]!;
    const offset = lo * bs;
    const length = Math.min(diskSize, hi * bs) - offset;
    const target = Buffer.from(buf.buffer, buf.byteOffset, length);
    const got = await input.read(k, offset, length, target);
    if (got.buffer !== buf.buffer || got.byteOffset !== buf.byteOffset) got.copy(target, 0, 0, length);
    const blocks: number[] = [];
    for (let b = lo; b < hi; b += 1) if (!input.skip?.(b)) blocks.push(b);
    const spans = new Uint32Array(2 * blocks.length);
    blocks.forEach((b, j) => {
      spans[2 * j] = (b - lo) * bs;
      spans[2 * j + 1] = Math.min(bs, diskSize - b * bs);
    });
    const res = await runner.run({ kind: 'hash', data: target, spans, transferInput: true });
    if ('failedAt' in res) throw new Error(`hashing failed: ${res.message}`);
    return { k, data: res.input ?? target, blocks, spans, hashed: res };
  };

  const hashing: Promise<HashedChunk>[] = [];
  let next = 0;
  const startReads = (): void => {
    while (next < chunks.length && hashing.length < HASH_CHUNKS_IN_FLIGHT && free.length > 0) {
      const p = readAndHash(next, free.pop()!);
      next += 1;
      p.catch(() => undefined); // observed in order below (or abandoned with the backup)
      hashing.push(p);
    }
  };
  const sealing: SubmittedBatch[] = [];
  const commitOldest = async (): Promise<void> => {
    const res = await sink.commit(sealing.shift()!);
    giveBack(res?.input, free);
    giveBack(res?.data, outs);
  };

  let bytesRead = 0;
  try {
    startReads();
    for (let k = 0; k < chunks.length; k += 1) {
      while (hashing.length === 0) {
        if (sealing.length === 0) throw new Error('scanDisk: no buffer free and none in use');
        await commitOldest(); // every buffer is in a batch being sealed: wait for the oldest
        startReads();
      }
      const h = await hashing.shift()!;
      bytesRead += h.data.byteLength;
      const out = outs.pop() ?? alloc(READ_CHUNK_BYTES + Math.ceil(READ_CHUNK_BYTES / bs) * 64);
      const batch = sink.submitHashed(h.data, h.spans, h.hashed, runner, out);
      if (!batch.sealing) {
        giveBack(h.data, free); // nothing new: the buffer is free again
        outs.push(out);
      }
      for (let n = 0; n < h.blocks.length; n += 1) {
        input.record(h.blocks[n]!, batch.ids[n] ?? null);
        input.meter.add(h.spans[2 * n + 1]!);
      }
      if (batch.sealing) sealing.push(batch);
      while (sealing.length > SEAL_BATCHES_IN_FLIGHT) await commitOldest();
      startReads();
    }
    while (sealing.length > 0) await commitOldest();
  } finally {
    // Jobs still running are abandoned with the sink (the caller aborts it on failure).
    for (const b of sealing) b.sealing?.catch(() => undefined);
  }
  return bytesRead;
}
