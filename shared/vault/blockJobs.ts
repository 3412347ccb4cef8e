// The CPU-heavy half of the data plane as batch jobs that run the same way in a worker thread
// (blockWorker.ts) or in the calling thread (the fallback): open a coalesced range of records
// (GCM + decode + id re-check), or seal a batch of new blocks (codec + GCM). Inputs and outputs are
// flat byte arrays plus offset tables, so a batch crosses a thread boundary as a few transferable
// ArrayBuffers rather than thousands of small messages.
import { BlockOpenError, openBlock, sealBlock } from './blockRecord';
import type { CompressionMode } from './blockCodec';
import { BLOCK_ID_BYTES } from './formatIds';
import type { VaultKeys } from './vaultKeys';

export interface OpenJob {
  kind: 'open';
  /** The bytes of one ranged read of a pack. */
  data: Uint8Array;
  /** n × 32-byte block ids. */
  ids: Uint8Array;
  /** n × (offset in data, record length). */
  spans: Uint32Array;
}

export interface SealJob {
  kind: 'seal';
  /** n plaintexts, back to back. */
  data: Uint8Array;
  ids: Uint8Array;
  /** n × (offset in data, plaintext length). */
  spans: Uint32Array;
  compression: CompressionMode;
}

export type BlockJob = OpenJob | SealJob;

export interface BlockJobResult {
  /** Plaintexts (open) or records (seal), back to back. */
  data: Uint8Array;
  /** n lengths, in job order. */
  lengths: Uint32Array;
}

/** A record that did not open: its position in the job and why (BlockOpenError's message). */
export interface BlockJobFailure {
  failedAt: number;
  message: string;
}

export function runBlockJob(
  keys: VaultKeys,
  vaultId: Buffer,
  job: BlockJob,
): BlockJobResult | BlockJobFailure {
  const n = job.spans.length / 2;
  const data = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength);
  const ids = Buffer.from(job.ids.buffer, job.ids.byteOffset, job.ids.byteLength);
  const outs: Buffer[] = [];
  const lengths = new Uint32Array(n);
  let total = 0;
  for (let k = 0; k < n; k += 1) {
    const at = job.spans[2 * k]!;
    const input = data.subarray(at, at + job.spans[2 * k + 1]!);
    const id = ids.subarray(k * BLOCK_ID_BYTES, (k + 1) * BLOCK_ID_BYTES);
    let out: Buffer;
    if (job.kind === 'open') {
      try {
        out = openBlock(keys, vaultId, id, input);
      } catch (err) {
        if (err instanceof BlockOpenError) return { failedAt: k, message: err.message };
        throw err;
      }
    } else {
      out = sealBlock(keys, vaultId, id, input, job.compression).record;
    }
    outs.push(out);
    lengths[k] = out.length;
    total += out.length;
  }
  // One fresh (never pooled) buffer, so the result can be transferred rather than copied.
  const joined = new Uint8Array(total);
  let at = 0;
  for (const o of outs) {
    joined.set(o, at);
    at += o.length;
  }
  return { data: joined, lengths };
}
