// Streams one pack through BlobStore.openWriter: records are copied into a 1 MiB staging buffer and
// written in 1 MiB chunks, so a pack is never held whole here (the Azure writer holds at most its
// 4 MiB blocks in flight). finish() appends the sealed header and the trailer, then commits.
import type { BlobWriter } from '../blob/blobStore';
import { PACK_ENTRY_TYPE, SEALED_KIND } from './formatIds';
import { encodePackHeader, encodePackTrailer, type PackEntry } from './packFormat';
import { sealBlob } from './sealedBlob';
import { VAULT_KEYS, type Vault } from './vault';

/** Writes to the store in chunks of this size (fewer calls and syscalls than one per 64 KiB record). */
export const PACK_STAGING_BYTES = 1024 * 1024;
/** Blob metadata name of a pack's creation time (ms since the epoch, decimal), docs/format.md. */
export const PACK_CREATED_METADATA = 'created_ms';
/** Runs of records at least this long skip the staging buffer (appendRun). */
export const DIRECT_WRITE_MIN_BYTES = 256 * 1024;

export class PackWriter {
  readonly entries: PackEntry[] = [];
  private readonly staging = Buffer.allocUnsafe(PACK_STAGING_BYTES);
  private staged = 0;
  private written = 0;

  private constructor(
    private readonly vault: Vault,
    readonly packId: string,
    private readonly writer: BlobWriter,
  ) {}

  /** `createdMs`: the writer's clock, stored as blob metadata; prune's safety margin is measured from it. */
  static async open(vault: Vault, packId: string, createdMs = Date.now()): Promise<PackWriter> {
    // Pack ids are random and never reused, so ifNoneMatch only guards against a bug.
    const writer = await vault.store.openWriter(VAULT_KEYS.pack(packId), {
      ifNoneMatch: '*',
      metadata: { [PACK_CREATED_METADATA]: String(Math.floor(createdMs)) },
    });
    return new PackWriter(vault, packId, writer);
  }

  /** Bytes in the pack so far (records only). */
  get size(): number {
    return this.written + this.staged;
  }

  async append(blockId: Buffer, record: Buffer): Promise<PackEntry> {
    const entry: PackEntry = {
      blockId,
      type: PACK_ENTRY_TYPE.DATA_BLOCK,
      offset: this.size,
      length: record.length,
    };
    await this.stage(record);
    this.entries.push(entry);
    return entry;
  }

  /**
   * Appends records that lie back to back in `bytes` (lengths in `items`). A large run is written
   * to the store as it is (no copy through the staging buffer); the caller keeps `bytes` unchanged
   * until this resolves.
   */
  async appendRun(
    items: readonly { blockId: Buffer; length: number }[],
    bytes: Buffer,
  ): Promise<PackEntry[]> {
    const out: PackEntry[] = [];
    let offset = this.size;
    for (const { blockId, length } of items) {
      const entry: PackEntry = { blockId, type: PACK_ENTRY_TYPE.DATA_BLOCK, offset, length };
      this.entries.push(entry);
      out.push(entry);
      offset += length;
    }
    if (bytes.length >= DIRECT_WRITE_MIN_BYTES) {
      await this.flush();
      await this.writer.write(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
      this.written += bytes.length;
    } else {
      await this.stage(bytes);
    }
    return out;
  }

  async finish(): Promise<void> {
    const header = sealBlob(
      this.vault.keys,
      this.vault.vaultIdBytes,
      SEALED_KIND.PACK_HEADER,
      this.packId,
      encodePackHeader(this.entries),
      'off', // 41 bytes per entry, mostly random ids: not worth compressing
    );
    await this.stage(header);
    await this.stage(encodePackTrailer(header.length));
    await this.flush();
    await this.writer.commit();
  }

  abort(): Promise<void> {
    return this.writer.abort();
  }

  private async stage(bytes: Buffer): Promise<void> {
    if (this.staged + bytes.length > this.staging.length) await this.flush();
    if (bytes.length > this.staging.length) {
      await this.writer.write(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
      this.written += bytes.length;
      return;
    }
    bytes.copy(this.staging, this.staged);
    this.staged += bytes.length;
  }

  private async flush(): Promise<void> {
    if (this.staged === 0) return;
    // The writer keeps no reference once write() resolves, so the staging buffer can be reused.
    // Passed as a plain Uint8Array view: MemBlobStore copies with `chunk.slice()`, which on a
    // Buffer is a view, not a copy (reported to the BlobStore owner).
    await this.writer.write(new Uint8Array(this.staging.buffer, this.staging.byteOffset, this.staged));
    this.written += this.staged;
    this.staged = 0;
  }
}
