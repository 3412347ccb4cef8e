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
  /** Blocks in the open pack, by hex id: dedup within the pack before it is committed. */
  private readonly pending = new Map<string, IndexEntry>();
  private unindexed: IndexFileEntry[] = [];
  private packsSinceIndex = 0;
  private readonly packTargetBytes: number;
  private readonly indexFlushEveryPacks: number;
  private readonly now: () => Date;
  /** Packs this sink committed. */
  readonly ownPacks = new Set<string>();
  /** Blocks submitted but not yet committed, by hex id: later batches deduplicate against them. */
  private readonly sealing = new Set<string>();
  private readonly runner: BlockJobRunner;

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
      if (isAllZero(plain)) {
        this.stats.blocksZero += 1;
        ids.push(null);
        continue;
      }
      const id = this.vault.keys.blockIdOf(plain);
      ids.push(id);
      const hex = id.toString('hex');
      if (this.vault.index.has(id) || this.pending.has(hex) || this.sealing.has(hex)) {
        this.stats.blocksDedup += 1;
        continue;
      }
      this.sealing.add(hex);
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
      ids: idBytes,
      spans,
      compression: this.vault.compression,
    });
    sealing.catch(() => undefined); // observed by commit (or abandoned with the backup)
    return { ids, fresh, hexIds, plainLengths, sealing };
  }

  /** Appends a submitted batch's new records to packs, in order. */
  async commit(batch: SubmittedBatch): Promise<void> {
    if (!batch.sealing) return;
    const res = await batch.sealing;
    if ('failedAt' in res) throw new Error(`sealing failed: ${res.message}`);
    const records = Buffer.from(res.data.buffer, res.data.byteOffset, res.data.byteLength);
    let at = 0;
    for (let k = 0; k < batch.fresh.length; k += 1) {
      const id = batch.ids[batch.fresh[k]!]!;
      const hex = batch.hexIds[k]!;
      const record = records.subarray(at, at + res.lengths[k]!);
      at += record.length;
      this.pack ??= await PackWriter.open(this.vault, randomHexId(), this.now().getTime());
      const entry = await this.pack.append(id, record);
      this.pending.set(hex, { packId: this.pack.packId, offset: entry.offset, length: entry.length });
      this.sealing.delete(hex);
      this.stats.blocksNew += 1;
      this.stats.bytesNewPlain += batch.plainLengths[k]!;
      this.stats.bytesNewStored += record.length;
      if (this.pack.size >= this.packTargetBytes) await this.closePack();
    }
  }

  /** Commits the open pack and writes an index blob for every pack not yet indexed. */
  async finish(): Promise<void> {
    await this.closePack();
    await this.writeIndex();
  }

  /** Abandons the open pack (nothing of it becomes visible). Committed packs stay; see docs/design.md. */
  async abort(): Promise<void> {
    const pack = this.pack;
    this.pack = undefined;
    this.pending.clear();
    this.sealing.clear();
    await pack?.abort();
  }

  private async closePack(): Promise<void> {
    const pack = this.pack;
    if (!pack) return;
    this.pack = undefined;
    try {
      await pack.finish();
    } catch (err) {
      this.pending.clear();
      await pack.abort();
      throw err;
    }
    // Committed: the blocks may now be deduplicated against and indexed. Until this sink's index
    // blob names them, the in-memory index holds entries no blob names.
    markIndexInexact(this.vault);
    for (const [hex, entry] of this.pending) {
      const blockId = Buffer.from(hex, 'hex');
      this.vault.index.add(blockId, entry);
      this.unindexed.push({ blockId, ...entry });
    }
    this.pending.clear();
    this.ownPacks.add(pack.packId);
    this.stats.packsWritten += 1;
    this.packsSinceIndex += 1;
    if (this.packsSinceIndex >= this.indexFlushEveryPacks) await this.writeIndex();
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
