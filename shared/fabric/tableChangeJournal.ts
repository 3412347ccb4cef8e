// The local fabric's change journal, in one Azure Table: what Hyper-V resilient change tracking does
// for a VHDX, done by the fabric because Azurite's Get Page Ranges diff ignores `prevsnapshot`
// (local-host.md §4). Layout, one partition per disk (PartitionKey = disk id = page blob name):
//
//   g-<gen:10>               a generation: starts when the blob's sequence number becomes <gen>.
//                            { startEtag, snapshot?, takenAt?, closed?, complete?, reset? }
//   w-<gen:10>-<id>-<i:4>    a write batch made during generation <gen>: { ranges: "[[off,len],…]", blobEtag? }
//
// Generation = the page blob's sequence number. A write journals its ranges under the generation it
// read, then uploads with `ifSequenceNumberEqualTo` that generation; a snapshot bumps the number
// (under a lease), so a write racing a snapshot fails and is journaled again under the new number.
// Every write that lands is therefore journaled under a generation no older than the one it lands
// in. A snapshot that makes generation g+1 contains exactly the writes of generations <= g.
//
// Foreign writes (not through the fabric) are caught by etags: each batch records the etag its last
// Put Page returned, and closing a generation checks that the blob's etag is the generation's start
// etag or one of those. Otherwise the generation is "incomplete" and any interval across it is 'unknown'.
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { randomBytes } from 'node:crypto';
import { mergeRanges, type ByteRange } from '../inventory/byteRanges';
import { JOURNAL_RANGES_PER_ROW, TABLE_BATCH_MAX_OPS } from './fabricLimits';
import { translateStorageError } from './fabricStorageErrors';

const GEN_DIGITS = 10;

function pad(gen: number): string {
  return String(gen).padStart(GEN_DIGITS, '0');
}

export function generationRowKey(gen: number): string {
  return `g-${pad(gen)}`;
}

interface GenerationRow {
  partitionKey: string;
  rowKey: string;
  startEtag: string;
  snapshot?: string;
  takenAt?: string;
  closed?: boolean;
  complete?: boolean;
  reset?: boolean;
}

interface WriteRow {
  partitionKey: string;
  rowKey: string;
  ranges: string;
  /** Not `etag`: data-tables reserves that name for the row's own ETag. */
  blobEtag?: string;
}

export class TableChangeJournal {
  constructor(private readonly table: TableClient) {}

  /** Creates the table if needed (data-tables treats "already exists" as success). */
  async ensureTable(): Promise<void> {
    await this.table.createTable();
  }

  /** The first generation of a new disk, starting at the blob's creation etag. */
  async startDisk(diskId: string, gen: number, startEtag: string): Promise<void> {
    await this.run('start journal', () =>
      this.table.upsertEntity<GenerationRow>(
        { partitionKey: diskId, rowKey: generationRowKey(gen), startEtag },
        'Replace',
      ),
    );
  }

  /** Records intent before a write batch's uploads; returns the row keys (the first carries the etag later). */
  async recordWrites(diskId: string, gen: number, ranges: readonly ByteRange[]): Promise<string[]> {
    const id = `${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
    const rows: WriteRow[] = [];
    for (let i = 0; i * JOURNAL_RANGES_PER_ROW < Math.max(1, ranges.length); i += 1) {
      const part = ranges.slice(i * JOURNAL_RANGES_PER_ROW, (i + 1) * JOURNAL_RANGES_PER_ROW);
      rows.push({
        partitionKey: diskId,
        rowKey: `w-${pad(gen)}-${id}-${String(i).padStart(4, '0')}`,
        ranges: JSON.stringify(part.map((r) => [r.offset, r.length])),
      });
    }
    // One partition: up to 100 rows commit atomically, so a batch is journaled whole or not at all.
    for (let i = 0; i < rows.length; i += TABLE_BATCH_MAX_OPS) {
      const actions = rows
        .slice(i, i + TABLE_BATCH_MAX_OPS)
        .map((r): TransactionAction => ['create', { ...r }]);
      await this.run('journal write', () => this.table.submitTransaction(actions));
    }
    return rows.map((r) => r.rowKey);
  }

  /** After the uploads: the etag the blob had after the batch's last Put Page. */
  async recordWriteEtag(diskId: string, rowKey: string, etag: string): Promise<void> {
    await this.run('journal etag', () =>
      this.table.updateEntity({ partitionKey: diskId, rowKey, blobEtag: etag }, 'Merge'),
    );
  }

  /**
   * Whether generation `gen` saw only journaled writes, given the blob's etag now (taken under the
   * snapshot's lease, so no write can land meanwhile).
   */
  async isGenerationComplete(diskId: string, gen: number, currentEtag: string): Promise<boolean> {
    const row = await this.getGeneration(diskId, gen);
    if (!row || row.reset) return false;
    if (row.startEtag === currentEtag) return true;
    for await (const w of this.writesOf(diskId, gen, gen + 1)) if (w.blobEtag === currentEtag) return true;
    return false;
  }

  /** Closes generation `gen` and opens `gen + 1` with its snapshot, in one transaction. */
  async rollGeneration(
    diskId: string,
    gen: number,
    complete: boolean,
    nextStartEtag: string,
    snapshot: string,
    takenAt: string,
  ): Promise<void> {
    const actions: TransactionAction[] = [
      ['upsert', { partitionKey: diskId, rowKey: generationRowKey(gen), closed: true, complete }, 'Merge'],
      [
        'upsert',
        {
          partitionKey: diskId,
          rowKey: generationRowKey(gen + 1),
          startEtag: nextStartEtag,
          snapshot,
          takenAt,
        },
        'Replace',
      ],
    ];
    await this.run('roll generation', () => this.table.submitTransaction(actions));
  }

  /** Forgets what generation `gen` recorded so far, as if tracking restarted (Hyper-V RCT after a crash). */
  async markReset(diskId: string, gen: number): Promise<void> {
    await this.run('reset journal', () =>
      this.table.upsertEntity({ partitionKey: diskId, rowKey: generationRowKey(gen), reset: true }, 'Merge'),
    );
  }

  /**
   * Union of the ranges written in generations [fromGen, toGen), or 'unknown' unless every one of
   * them is closed and complete and both ends' rows name the expected snapshots.
   */
  async changedBetween(
    diskId: string,
    from: { gen: number; snapshot: string },
    to: { gen: number; snapshot: string },
  ): Promise<ByteRange[] | 'unknown'> {
    if (from.gen === to.gen) return from.snapshot === to.snapshot ? [] : 'unknown';
    const gens = new Map<number, GenerationRow>();
    const filter = odata`PartitionKey eq ${diskId} and RowKey ge ${generationRowKey(from.gen)} and RowKey le ${generationRowKey(to.gen)}`;
    await this.run('read journal', async () => {
      for await (const row of this.table.listEntities<GenerationRow>({ queryOptions: { filter } })) {
        gens.set(Number(row.rowKey.slice(2)), row);
      }
    });
    if (gens.get(from.gen)?.snapshot !== from.snapshot || gens.get(to.gen)?.snapshot !== to.snapshot)
      return 'unknown';
    for (let g = from.gen; g < to.gen; g += 1) {
      const row = gens.get(g);
      if (!row || row.closed !== true || row.complete !== true || row.reset) return 'unknown';
    }
    const ranges: ByteRange[] = [];
    for await (const w of this.writesOf(diskId, from.gen, to.gen)) {
      for (const [offset, length] of JSON.parse(w.ranges) as Array<[number, number]>)
        ranges.push({ offset, length });
    }
    return mergeRanges(ranges);
  }

  /** Deletes every row of a disk (the disk was deleted). */
  async dropDisk(diskId: string): Promise<void> {
    const keys: string[] = [];
    const filter = odata`PartitionKey eq ${diskId}`;
    await this.run('drop journal', async () => {
      for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
        if (row.rowKey) keys.push(row.rowKey);
      }
      for (let i = 0; i < keys.length; i += TABLE_BATCH_MAX_OPS) {
        await this.table.submitTransaction(
          keys
            .slice(i, i + TABLE_BATCH_MAX_OPS)
            .map((rowKey) => ['delete', { partitionKey: diskId, rowKey }]),
        );
      }
    });
  }

  private async getGeneration(diskId: string, gen: number): Promise<GenerationRow | undefined> {
    try {
      return await this.table.getEntity<GenerationRow>(diskId, generationRowKey(gen));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw translateStorageError(err, 'read journal');
    }
  }

  private async *writesOf(diskId: string, fromGen: number, toGen: number): AsyncGenerator<WriteRow> {
    const filter = odata`PartitionKey eq ${diskId} and RowKey ge ${`w-${pad(fromGen)}`} and RowKey lt ${`w-${pad(toGen)}`}`;
    try {
      yield* this.table.listEntities<WriteRow>({ queryOptions: { filter } });
    } catch (err) {
      throw translateStorageError(err, 'read journal');
    }
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translateStorageError(err, what);
    }
  }
}
