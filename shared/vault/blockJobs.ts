// The CPU-heavy half of the data plane as batch jobs that run the same way in a worker thread
// (blockWorker.ts) or in the calling thread (the fallback): hash a chunk of blocks (zero check +
// HMAC id), seal a batch of new blocks (codec + GCM, written straight into one output buffer), or
// open a coalesced range of records (GCM + decode, and the id re-check unless the job turns it off),
// optionally into a lent (shared) output buffer. Inputs and outputs are flat byte arrays plus offset tables, so a batch crosses a thread boundary as a few
// transferable ArrayBuffers rather than thousands of small messages; buffers the caller lends
// (`transferInput`, `out`) come back in the result for reuse.
import { randomBytes } from 'node:crypto';
import { BlockOpenError, openBlock, sealBlockInto } from './blockRecord';
import type { CompressionMode } from './blockCodec';
import { BLOCK_ID_BYTES, BLOCK_RECORD_OVERHEAD_BYTES, GCM_NONCE_BYTES } from './formatIds';
import { isAllZero } from './hex';
import type { VaultKeys } from './vaultKeys';

interface JobInput {
  /** The job's bytes. */
  data: Uint8Array;
  /** n × (offset in data, length). */
  spans: Uint32Array;
  /**
   * The caller gives up `data`'s whole ArrayBuffer for the job: a worker pool transfers it instead
   * of copying, and the result returns it as `input`. Default: copied.
   */
  transferInput?: boolean;
}

export interface OpenJob extends JobInput {
  kind: 'open';
  /** n × 32-byte block ids. */
  ids: Uint8Array;
  /** The plaintext length each block must have (a disk map knows it); checked before output. */
  expect?: Uint32Array;
  /**
   * Recompute each id from its plaintext (default true). Restores set false: the GCM tag binds the
   * id already (blockRecord.ts, OpenBlockOptions; docs/design.md, "Verification on read").
   */
  checkIds?: boolean;
  /**
   * Where to write the plaintexts, back to back (lent by the caller, returned as the result's
   * `data`): at least the sum of `expect`. Default: a fresh buffer.
   */
  out?: Uint8Array;
}

export interface SealJob extends JobInput {
  kind: 'seal';
  ids: Uint8Array;
  compression: CompressionMode;
  /**
   * Where to write the records (lent by the caller, returned as the result's `data`); at least
   * sealOutputBytes(spans) long. Default: a fresh buffer.
   */
  out?: Uint8Array;
}

/** Zero check and id (HMAC-SHA256) of each block: `lengths[k]` = 0 for an all-zero block, else 32. */
export interface HashJob extends JobInput {
  kind: 'hash';
}

export type BlockJob = OpenJob | SealJob | HashJob;

export interface BlockJobResult {
  /** Plaintexts (open), records (seal) or ids (hash: 32 bytes at k × 32), back to back. */
  data: Uint8Array;
  /** n lengths, in job order (open with `write`: the bytes written per block). */
  lengths: Uint32Array;
  /** The job's input, when it was lent (`transferInput`). */
  input?: Uint8Array;
}

/** A record that did not open: its position in the job and why (BlockOpenError's message). */
export interface BlockJobFailure {
  failedAt: number;
  message: string;
  /** The job's input, when it was lent. */
  input?: Uint8Array;
}

/** Output bytes a seal job may need: every block stored raw plus the record overhead. */
export function sealOutputBytes(spans: Uint32Array): number {
  let n = 0;
  for (let k = 1; k < spans.length; k += 2) n += spans[k]! + BLOCK_RECORD_OVERHEAD_BYTES;
  return n;
}

export function runBlockJob(
  keys: VaultKeys,
  vaultId: Buffer,
  job: BlockJob,
): BlockJobResult | BlockJobFailure {
  const lent = job.transferInput ? { input: job.data } : {};
  if (job.kind === 'hash') return { ...hashJob(keys, job), ...lent };
  if (job.kind === 'seal') return { ...sealJob(keys, vaultId, job), ...lent };
  const res = openJob(keys, vaultId, job);
  return { ...res, ...lent };
}

function view(a: Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function hashJob(keys: VaultKeys, job: HashJob): BlockJobResult {
  const n = job.spans.length / 2;
  const data = view(job.data);
  const ids = new Uint8Array(n * BLOCK_ID_BYTES);
  const lengths = new Uint32Array(n);
  for (let k = 0; k < n; k += 1) {
    const at = job.spans[2 * k]!;
    const plain = data.subarray(at, at + job.spans[2 * k + 1]!);
    if (isAllZero(plain)) continue;
    ids.set(keys.blockIdOf(plain), k * BLOCK_ID_BYTES);
    lengths[k] = BLOCK_ID_BYTES;
  }
  return { data: ids, lengths };
}

function sealJob(keys: VaultKeys, vaultId: Buffer, job: SealJob): BlockJobResult {
  const n = job.spans.length / 2;
  const data = view(job.data);
  const ids = view(job.ids);
  const need = sealOutputBytes(job.spans);
  // A fresh (never pooled) buffer when none is lent, so the result can be transferred, not copied.
  const out = view(job.out && job.out.byteLength >= need ? job.out : new Uint8Array(need));
  const lengths = new Uint32Array(n);
  const nonces = randomBytes(n * GCM_NONCE_BYTES); // one draw per batch, not per block
  let at = 0;
  for (let k = 0; k < n; k += 1) {
    const from = job.spans[2 * k]!;
    const plain = data.subarray(from, from + job.spans[2 * k + 1]!);
    const id = ids.subarray(k * BLOCK_ID_BYTES, (k + 1) * BLOCK_ID_BYTES);
    const nonce = nonces.subarray(k * GCM_NONCE_BYTES, (k + 1) * GCM_NONCE_BYTES);
    const len = sealBlockInto(keys, vaultId, id, plain, job.compression, out, at, nonce);
    lengths[k] = len;
    at += len;
  }
  return { data: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), lengths };
}

function openJob(keys: VaultKeys, vaultId: Buffer, job: OpenJob): BlockJobResult | BlockJobFailure {
  const n = job.spans.length / 2;
  const data = view(job.data);
  const ids = view(job.ids);
  const lengths = new Uint32Array(n);
  let need = 0;
  if (job.expect) for (const len of job.expect) need += len;
  const lent = job.out && job.expect && job.out.byteLength >= need ? view(job.out) : undefined;
  const outs: Buffer[] = [];
  let total = 0;
  for (let k = 0; k < n; k += 1) {
    const at = job.spans[2 * k]!;
    const input = data.subarray(at, at + job.spans[2 * k + 1]!);
    const id = ids.subarray(k * BLOCK_ID_BYTES, (k + 1) * BLOCK_ID_BYTES);
    let out: Buffer;
    try {
      out = openBlock(keys, vaultId, id, input, { checkId: job.checkIds !== false });
      if (job.expect && out.length !== job.expect[k])
        throw new BlockOpenError(`has ${out.length} bytes, the manifest says ${job.expect[k]}`);
    } catch (err) {
      if (err instanceof BlockOpenError) return { failedAt: k, message: err.message };
      throw err;
    }
    lengths[k] = out.length;
    if (lent) out.copy(lent, total);
    else outs.push(out);
    total += out.length;
  }
  if (lent) return { data: new Uint8Array(lent.buffer, lent.byteOffset, total), lengths };
  // One fresh (never pooled) buffer, so the result can be transferred rather than copied.
  const joined = new Uint8Array(total);
  let at = 0;
  for (const o of outs) {
    joined.set(o, at);
    at += o.length;
  }
  return { data: joined, lengths };
}
