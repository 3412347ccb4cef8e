// The write side of the data plane: takes plaintext blocks, skips zero blocks and blocks the vault
// already has, and appends the rest to packs. Write order (docs/design.md): a pack is committed
// before any index blob names it, and blocks of a pack become visible to dedup only once the pack
// is committed, so nothing can reference a block that is not durably stored.
import type { IndexEntry } from './blockIndex';
import type { BlockJobFailure, BlockJobResult } from './blockJobs';
import { openBlockPool, type BlockJobRunner } from './blockWorkerPool';
import { BLOCK_ID_BYTES } from './formatIds';
import { markIndexInexact } from './indexView';
import { encodeIndexFile, type IndexFileEntry } from './indexFile';
import { randomHexId } from './hex';
import { isAllZero } from './hex';
import { PackWriter } from './packWriter';
import type { Vault } from './vault';
import { writeIndexObject } from './vaultObjects';

/** Write an index blob after this many packs (16 × 16 MiB = 256 MiB), so a crash loses little. */
export const INDEX_FLUSH_EVERY_PACKS = 16;
/** Packs committed in the background at once (each commit fsyncs: performance.md, write-behind). */
export const MAX_PACKS_CLOSING = 2;

export interface BlockSinkStats {
  blocksNew: number;
  blocksDedup: number;
  blocksZero: number;
  /** Plaintext bytes of new blocks. */
  bytesNewPlain: number;
  /** Bytes of new block records (compressed + encrypted) appended to packs. */
  bytesNewStored: number;
  packsWritten: number;
  indexesWritten: number;
}

export interface BlockSinkOptions {
  packTargetBytes?: number;
  indexFlushEveryPacks?: number;
  /** Clock for the packs' creation stamps (prune's safety margin is measured from them). */
  now?: () => Date;
  /** Where new blocks are sealed (compress + encrypt); default: the calling thread. */
  runner?: BlockJobRunner;
}

/**
 * Blocks classified by `submit`: ids (null = zero), and the sealing of the new ones, which may run
 * on worker threads while later batches are read and submitted. `commit` appends them in order.
 */
export interface SubmittedBatch {
  readonly ids: (Buffer | null)[];
  /** Positions in `ids` of blocks being sealed, in job order. */
  readonly fresh: number[];
  readonly hexIds: string[];
  readonly plainLengths: number[];
  readonly sealing: Promise<BlockJobResult | BlockJobFailure> | undefined;
}

export class BlockSink {
  readonly stats: BlockSinkStats = {
    blocksNew: 0,
    blocksDedup: 0,
    blocksZero: 0,
    bytesNewPlain: 0,
    bytesNewStored: 0,
    packsWritten: 0,
    indexesWritten: 0,
  };
  private pack: PackWriter | undefined;
  /** Blocks in packs not yet committed (open or closing), by hex id: this sink dedups against them. */
  private readonly pending = new Map<string, IndexEntry>();
  /** Packs being committed, in close order (closePack). */
  private readonly closing: Promise<void>[] = [];
  private failure: { err: unknown } | undefined;
  private unindexed: IndexFileEntry[] = [];
  private packsSinceIndex = 0;
  private readonly packTargetBytes: number;
  private readonly indexFlushEveryPacks: number;
  private readonly now: () => Date;
  /** Packs this sink committed. */
  readonly ownPacks = new Set<string>();
  /** Blocks submitted but not yet committed, by hex id: later batches deduplicate against them. */
  private readonly sealing = new Set<string>();
  /** Where new blocks are sealed unless a call names another runner. */
  readonly runner: BlockJobRunner;

  constructor(
    private readonly vault: Vault,
    opts: BlockSinkOptions = {},
  ) {
    this.packTargetBytes = opts.packTargetBytes ?? vault.config.packTargetBytes;
    this.indexFlushEveryPacks = opts.indexFlushEveryPacks ?? INDEX_FLUSH_EVERY_PACKS;
    this.now = opts.now ?? (() => new Date());
    this.runner = opts.runner ?? openBlockPool(vault, { workers: 0 });
  }

  /** Entries of committed packs (adopted from pack headers) to write into this sink's next index blob. */
  addUnindexed(entries: readonly IndexFileEntry[]): void {
    this.unindexed.push(...entries);
  }

  /** Stores one block; returns its id, or null for an all-zero block (never stored). */
  async put(plain: Buffer): Promise<Buffer | null> {
    const batch = this.submit([plain]);
    await this.commit(batch);
    return batch.ids[0]!;
  }

  /**
   * Classifies blocks on this thread (zero check, id, dedup) and starts sealing the new ones as
   * one job. The plaintexts are copied into the job, so the caller may reuse their buffer at once.
   * Batches must be committed in the order they were submitted.
   */
  submit(plains: readonly Buffer[], runner: BlockJobRunner = this.runner): SubmittedBatch {
    const ids: (Buffer | null)[] = [];
    const fresh: number[] = [];
    const hexIds: string[] = [];
    const plainLengths: number[] = [];
    let bytes = 0;
    for (const plain of plains) {
      const id = isAllZero(plain) ? null : this.vault.keys.blockIdOf(plain);
      ids.push(id);
      const hex = this.classify(id);
      if (hex === undefined) continue;
      fresh.push(ids.length - 1);
      hexIds.push(hex);
      plainLengths.push(plain.length);
      bytes += plain.length;
    }
    if (fresh.length === 0) return { ids, fresh, hexIds, plainLengths, sealing: undefined };
    const data = new Uint8Array(bytes);
    const idBytes = new Uint8Array(fresh.length * BLOCK_ID_BYTES);
    const spans = new Uint32Array(2 * fresh.length);
    let at = 0;
    fresh.forEach((pos, k) => {
      const plain = plains[pos]!;
      data.set(plain, at);
      idBytes.set(ids[pos]!, k * BLOCK_ID_BYTES);
      spans[2 * k] = at;
      spans[2 * k + 1] = plain.length;
      at += plain.length;
    });
    const sealing = runner.run({
      kind: 'seal',
      data,
      transferInput: true, // a fresh copy: the job may have it
      ids: idBytes,
      spans,
      compression: this.vault.compression,
    });
    sealing.catch(() => undefined); // observed by commit (or abandoned with the backup)
    return { ids, fresh, hexIds, plainLengths, sealing };
  }

  /**
   * Like submit, for blocks already hashed (a hash job: `hashed.lengths[k]` 0 = zero block, else the
   * id at k × 32). `data` holds the plaintexts at `spans`; it is lent to the seal job
   * (`transferInput`) and comes back in commit's result, as does `out` (the records' buffer).
   */
  submitHashed(
    data: Uint8Array,
    spans: Uint32Array,
    hashed: BlockJobResult,
    runner: BlockJobRunner = this.runner,
    out?: Uint8Array,
  ): SubmittedBatch {
    const n = spans.length / 2;
    const all = Buffer.from(hashed.data.buffer, hashed.data.byteOffset, hashed.data.byteLength);
    const ids: (Buffer | null)[] = [];
    const fresh: number[] = [];
    const hexIds: string[] = [];
    const plainLengths: number[] = [];
    for (let k = 0; k < n; k += 1) {
      const id = hashed.lengths[k] === 0 ? null : all.subarray(k * BLOCK_ID_BYTES, (k + 1) * BLOCK_ID_BYTES);
      ids.push(id);
      const hex = this.classify(id);
      if (hex === undefined) continue;
      fresh.push(k);
      hexIds.push(hex);
      plainLengths.push(spans[2 * k + 1]!);
    }
    if (fresh.length === 0) return { ids, fresh, hexIds, plainLengths, sealing: undefined };
    const idBytes = new Uint8Array(fresh.length * BLOCK_ID_BYTES);
    const freshSpans = new Uint32Array(2 * fresh.length);
    fresh.forEach((k, j) => {
      idBytes.set(ids[k]!, j * BLOCK_ID_BYTES);
      freshSpans[2 * j] = spans[2 * k]!;
      freshSpans[2 * j + 1] = spans[2 * k + 1]!;
    });
    const sealing = runner.run({
      kind: 'seal',
      data,
      transferInput: true,
      ids: idBytes,
      spans: freshSpans,
      compression: this.vault.compression,
      ...(out ? { out } : {}),
    });
    sealing.catch(() => undefined); // observed by commit (or abandoned with the backup)
    return { ids, fresh, hexIds, plainLengths, sealing };
  }

  /**
   * Zero (null), duplicate (of the index, the open pack, or a block being sealed) or new: returns
   * the hex id of a new block (now counted as being sealed), else undefined.
   */
  private classify(id: Buffer | null): string | undefined {
    if (id === null) {
      this.stats.blocksZero += 1;
      return undefined;
    }
    const hex = id.toString('hex');
    if (this.vault.index.has(id) || this.pending.has(hex) || this.sealing.has(hex)) {
      this.stats.blocksDedup += 1;
      return undefined;
    }
    this.sealing.add(hex);
    return hex;
  }

  /**
   * Appends a submitted batch's new records to packs, in order. Returns the seal job's result (its
   * buffers may be reused once this resolves), or undefined if nothing was sealed.
   */
  async commit(batch: SubmittedBatch): Promise<BlockJobResult | undefined> {
    if (!batch.sealing) return undefined;
    const res = await batch.sealing;
    if ('failedAt' in res) throw new Error(`sealing failed: ${res.message}`);
    const records = Buffer.from(res.data.buffer, res.data.byteOffset, res.data.byteLength);
    let at = 0;
    for (let k = 0; k < batch.fresh.length;) {
      this.pack ??= await PackWriter.open(this.vault, randomHexId(), this.now().getTime());
      // The records that go into this pack: up to and including the one that fills it.
      const first = k;
      let size = this.pack.size;
      const runStart = at;
      while (k < batch.fresh.length && size < this.packTargetBytes) {
        size += res.lengths[k]!;
        at += res.lengths[k]!;
        k += 1;
      }
      const items: { blockId: Buffer; length: number }[] = [];
      for (let j = first; j < k; j += 1)
        items.push({ blockId: batch.ids[batch.fresh[j]!]!, length: res.lengths[j]! });
      const entries = await this.pack.appendRun(items, records.subarray(runStart, at));
      for (let j = first; j < k; j += 1) {
        const hex = batch.hexIds[j]!;
        const entry = entries[j - first]!;
        this.pending.set(hex, { packId: this.pack.packId, offset: entry.offset, length: entry.length });
        this.sealing.delete(hex);
        this.stats.blocksNew += 1;
        this.stats.bytesNewPlain += batch.plainLengths[j]!;
        this.stats.bytesNewStored += entry.length;
      }
      if (this.pack.size >= this.packTargetBytes) {
        this.closePack();
        await this.throttleClosing();
      }
    }
    return res;
  }

  /** Commits the open pack and writes an index blob for every pack not yet indexed. */
  async finish(): Promise<void> {
    this.closePack();
    while (this.closing.length > 0) await this.closing.shift();
    this.throwIfFailed();
    await this.writeIndex();
  }

  /** Abandons the open pack (nothing of it becomes visible). Committed packs stay; see docs/design.md. */
  async abort(): Promise<void> {
    const pack = this.pack;
    this.pack = undefined;
    this.pending.clear();
    this.sealing.clear();
    await Promise.all(this.closing.splice(0).map((p) => p.catch(() => undefined)));
    await pack?.abort();
  }

  /**
   * Starts committing the open pack in the background (header, trailer, the store's commit, which
   * fsyncs): the next pack fills meanwhile, at most MAX_PACKS_CLOSING behind. Its blocks enter the
   * index, and the index blob every INDEX_FLUSH_EVERY_PACKS, only once it is committed, in close
   * order. Until then they stay in `pending`, so only this sink deduplicates against them, and its
   * point is written after finish() has waited for every commit.
   */
  private closePack(): void {
    const pack = this.pack;
    if (!pack) return;
    this.pack = undefined;
    const before = this.closing[this.closing.length - 1];
    const done = (async () => {
      try {
        await pack.finish();
      } catch (err) {
        await pack.abort().catch(() => undefined);
        throw err;
      }
      await before?.catch(() => undefined); // bookkeeping in close order
      this.throwIfFailed();
      // Committed: the blocks may now be deduplicated against and indexed. Until this sink's index
      // blob names them, the in-memory index holds entries no blob names.
      markIndexInexact(this.vault);
      for (const e of pack.entries) {
        const hex = e.blockId.toString('hex');
        const entry = { packId: pack.packId, offset: e.offset, length: e.length };
        this.vault.index.add(e.blockId, entry);
        this.unindexed.push({ blockId: Buffer.from(e.blockId), ...entry });
        this.pending.delete(hex);
      }
      this.ownPacks.add(pack.packId);
      this.stats.packsWritten += 1;
      this.packsSinceIndex += 1;
      if (this.packsSinceIndex >= this.indexFlushEveryPacks) await this.writeIndex();
    })();
    done.catch((err: unknown) => {
      this.failure ??= { err };
    });
    this.closing.push(done);
  }

  /** Waits while too many packs are being committed; rethrows a failed commit. */
  private async throttleClosing(): Promise<void> {
    while (this.closing.length > MAX_PACKS_CLOSING) await this.closing.shift()!.catch(() => undefined);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.err;
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const id = await writeIndexObject(this.vault, encodeIndexFile(this.unindexed));
    this.vault.indexIds.add(id);
    this.unindexed = [];
    this.packsSinceIndex = 0;
    this.stats.indexesWritten += 1;
  }
}
