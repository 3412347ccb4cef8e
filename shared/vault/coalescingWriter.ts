// Positioned writes gathered into large contiguous ones, for restored files (restoreDirectoryTree.ts):
// a tree's blocks arrive in order and small, so writing each as it comes would be one write(2) per
// block.
import type { FileHandle } from 'node:fs/promises';
import { writeFully } from './directFileWriter';

/** Contiguous blocks are gathered into writes of up to this size. */
export const WRITE_COALESCE_BYTES = 4 * 1024 * 1024;

/**
 * Gathers positioned writes into contiguous runs, so a 4 MiB run is one write(2), and writes
 * behind: a full run is written while the next one fills the other of two buffers.
 */
export class CoalescingWriter {
  private readonly bufs = [
    Buffer.allocUnsafe(WRITE_COALESCE_BYTES),
    Buffer.allocUnsafe(WRITE_COALESCE_BYTES),
  ];
  private cur = 0;
  private used = 0;
  private start = 0;
  /** The write of the other buffer, if one is running. It never rejects; see `failed`. */
  private inFlight: Promise<void> | undefined;
  private failed: { err: unknown } | undefined;
  bytesWritten = 0;

  constructor(private readonly handle: FileHandle) {}

  async write(data: Buffer, position: number): Promise<void> {
    this.throwIfFailed();
    const buf = this.bufs[this.cur]!;
    if (this.used > 0 && (position !== this.start + this.used || this.used + data.length > buf.length))
      await this.writeBehind();
    if (data.length > WRITE_COALESCE_BYTES) {
      await this.drain();
      await this.writeAll(data, position);
      return;
    }
    if (this.used === 0) this.start = position;
    data.copy(this.bufs[this.cur]!, this.used);
    this.used += data.length;
  }

  /** Writes everything gathered so far and waits for it. */
  async flush(): Promise<void> {
    await this.writeBehind();
    await this.drain();
    this.throwIfFailed();
  }

  /** Starts writing the current buffer (after the previous write) and switches to the other one. */
  private async writeBehind(): Promise<void> {
    if (this.used === 0) return;
    await this.drain();
    const data = this.bufs[this.cur]!.subarray(0, this.used);
    const position = this.start;
    this.inFlight = this.writeAll(data, position).catch((err: unknown) => {
      this.failed ??= { err };
    });
    this.cur ^= 1;
    this.used = 0;
  }

  private async drain(): Promise<void> {
    const running = this.inFlight;
    this.inFlight = undefined;
    await running;
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failed.err;
  }

  private async writeAll(data: Buffer, position: number): Promise<void> {
    await writeFully(this.handle, data, position);
    this.bytesWritten += data.length;
  }
}
