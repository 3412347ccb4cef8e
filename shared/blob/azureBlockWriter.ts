// The Azure BlobWriter: stages fixed-size blocks (Put Block) with a bounded number in flight and
// commits the block list (Put Block List) at the end, so a pack of hundreds of MiB is never held in
// memory whole: at most blockSizeBytes × (maxBlocksInFlight + 1) bytes are buffered.
import { randomBytes } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';
import { BlobLimitExceededError } from './blobErrors';
import type { BlobWriter, PutResult, WriterOptions } from './blobStore';
import type { ResolvedWriterSizing } from './blobValidation';
import { BLOCK_BLOB_MAX_BLOCKS, BLOCK_ID_MAX_BYTES, UNCOMMITTED_BLOCK_LIFETIME_MS } from './azureLimits';
import { translateAzureError, type AzureCallContext } from './azureErrors';
import { conditionOf, normalizeEtag, writeConditionsFor } from './azureRequests';
import { WriterLifecycle } from './writerLifecycle';

/** Refuse to commit this long before Azure may have discarded our first staged block. */
export const WRITER_EXPIRY_MARGIN_MS = 60 * 60 * 1000;

// Frozen format: <24 hex chars of writer nonce>-<5-digit block index>, 30 ASCII bytes. Azure requires
// every block id of one blob (committed or not) to have the same length, so every writer of any key
// must produce this exact length. The nonce keeps two writers of the same key from overwriting each
// other's uncommitted blocks (which would let one commit the other's bytes).
const WRITER_NONCE_BYTES = 12;
const BLOCK_INDEX_DIGITS = 5; // 50,000 blocks → indices 0..49,999
const BLOCK_ID_CHARS = WRITER_NONCE_BYTES * 2 + 1 + BLOCK_INDEX_DIGITS;

function blockId(nonce: string, index: number): string {
  const raw = `${nonce}-${String(index).padStart(BLOCK_INDEX_DIGITS, '0')}`;
  // Azure Put Block: ids of one blob share one length, at most 64 bytes before base64 encoding.
  if (raw.length !== BLOCK_ID_CHARS || raw.length > BLOCK_ID_MAX_BYTES)
    throw new Error(`bad block id ${raw}`);
  return Buffer.from(raw, 'ascii').toString('base64');
}

export class AzureBlockWriter implements BlobWriter {
  private readonly lifecycle: WriterLifecycle;
  private readonly nonce = randomBytes(WRITER_NONCE_BYTES).toString('hex');
  private readonly blockIds: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private buffer: Buffer | undefined;
  private filled = 0;
  private stageError: Error | undefined;
  private firstStagedAtMs: number | undefined;
  bytesWritten = 0;

  constructor(
    private readonly blob: BlockBlobClient,
    private readonly key: string,
    private readonly opts: WriterOptions,
    private readonly sizing: ResolvedWriterSizing,
    private readonly now: () => number,
  ) {
    this.lifecycle = new WriterLifecycle(key);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.lifecycle.run('write', async () => {
      const { blockSizeBytes } = this.sizing;
      let at = 0;
      while (at < chunk.byteLength) {
        this.buffer ??= Buffer.allocUnsafe(blockSizeBytes);
        const n = Math.min(blockSizeBytes - this.filled, chunk.byteLength - at);
        this.buffer.set(chunk.subarray(at, at + n), this.filled);
        this.filled += n;
        at += n;
        if (this.filled === blockSizeBytes) await this.stageBuffered();
      }
      this.bytesWritten += chunk.byteLength;
    });
  }

  commit(): Promise<PutResult> {
    return this.lifecycle.run('commit', async () => {
      if (this.filled > 0) await this.stageBuffered();
      await this.drain();
      this.throwIfStageFailed();
      this.lifecycle.assertNotAborted();
      this.assertBlocksNotExpired();
      const ctx = this.context('writer.commit');
      try {
        const res = await this.blob.commitBlockList(this.blockIds, {
          conditions: writeConditionsFor(this.opts),
          metadata: this.opts.metadata && { ...this.opts.metadata },
        });
        return { etag: normalizeEtag(res.etag, ctx) };
      } catch (err) {
        throw translateAzureError(err, ctx);
      }
    });
  }

  async abort(): Promise<void> {
    if (!this.lifecycle.beginAbort()) return;
    this.buffer = undefined;
    this.filled = 0;
    // Azure has no call to delete uncommitted blocks: they stay invisible and are discarded when the
    // key is next committed, or after 7 days (UNCOMMITTED_BLOCK_LIFETIME_MS).
    await this.drain();
  }

  private async stageBuffered(): Promise<void> {
    this.throwIfStageFailed();
    // Azure Put Block List: a block blob has at most 50,000 committed blocks.
    if (this.blockIds.length >= BLOCK_BLOB_MAX_BLOCKS)
      throw new BlobLimitExceededError(
        `more than ${BLOCK_BLOB_MAX_BLOCKS} blocks of ${this.sizing.blockSizeBytes} bytes; use larger blocks`,
        this.key,
      );
    const id = blockId(this.nonce, this.blockIds.length);
    this.blockIds.push(id);
    const body = (this.buffer ?? Buffer.alloc(0)).subarray(0, this.filled);
    this.buffer = undefined;
    this.filled = 0;
    this.firstStagedAtMs ??= this.now();
    const ctx = this.context('writer.write');
    const staged: Promise<void> = this.blob
      .stageBlock(id, body, body.byteLength)
      .then(
        () => undefined,
        (err: unknown) => {
          this.stageError ??= translateAzureError(err, ctx);
        },
      )
      .finally(() => this.inFlight.delete(staged));
    this.inFlight.add(staged);
    // Back-pressure: the caller's write() waits here, so memory stays bounded.
    while (this.inFlight.size >= this.sizing.maxBlocksInFlight) await Promise.race(this.inFlight);
    this.throwIfStageFailed();
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
  }

  private throwIfStageFailed(): void {
    if (this.stageError) throw this.stageError;
  }

  private assertBlocksNotExpired(): void {
    if (this.firstStagedAtMs === undefined) return;
    const ageMs = this.now() - this.firstStagedAtMs;
    // Azure Put Block: uncommitted blocks are discarded after a week; measured conservatively from the
    // first block, with a margin, so we fail clearly instead of committing a list Azure rejects.
    if (ageMs > UNCOMMITTED_BLOCK_LIFETIME_MS - WRITER_EXPIRY_MARGIN_MS)
      throw new BlobLimitExceededError(
        `writer open for ${ageMs} ms; staged blocks may have expired (Azure keeps them 7 days)`,
        this.key,
      );
  }

  private context(op: 'writer.write' | 'writer.commit'): AzureCallContext {
    return { op, key: this.key, condition: op === 'writer.commit' ? conditionOf(this.opts) : undefined };
  }
}
