// The write side of the data plane: takes plaintext blocks, skips zero blocks and blocks the vault
// already has, and appends the rest to packs. Write order (docs/design.md): a pack is committed
// before any index blob names it, and blocks of a pack become visible to dedup only once the pack
// is committed, so nothing can reference a block that is not durably stored.
import { sealBlock } from './blockRecord';
import type { IndexEntry } from './blockIndex';
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

  constructor(
    private readonly vault: Vault,
    opts: BlockSinkOptions = {},
  ) {
    this.packTargetBytes = opts.packTargetBytes ?? vault.config.packTargetBytes;
    this.indexFlushEveryPacks = opts.indexFlushEveryPacks ?? INDEX_FLUSH_EVERY_PACKS;
    this.now = opts.now ?? (() => new Date());
  }

  /** Entries of committed packs (adopted from pack headers) to write into this sink's next index blob. */
  addUnindexed(entries: readonly IndexFileEntry[]): void {
    this.unindexed.push(...entries);
  }

  /** Stores one block; returns its id, or null for an all-zero block (never stored). */
  async put(plain: Buffer): Promise<Buffer | null> {
    if (isAllZero(plain)) {
      this.stats.blocksZero += 1;
      return null;
    }
    const id = this.vault.keys.blockIdOf(plain);
    if (this.vault.index.has(id) || this.pending.has(id.toString('hex'))) {
      this.stats.blocksDedup += 1;
      return id;
    }
    const { record } = sealBlock(this.vault.keys, this.vault.vaultIdBytes, id, plain, this.vault.compression);
    this.pack ??= await PackWriter.open(this.vault, randomHexId(), this.now().getTime());
    const entry = await this.pack.append(id, record);
    this.pending.set(id.toString('hex'), {
      packId: this.pack.packId,
      offset: entry.offset,
      length: entry.length,
    });
    this.stats.blocksNew += 1;
    this.stats.bytesNewPlain += plain.length;
    this.stats.bytesNewStored += record.length;
    if (this.pack.size >= this.packTargetBytes) await this.closePack();
    return id;
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
    // Committed: the blocks may now be deduplicated against and indexed.
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
