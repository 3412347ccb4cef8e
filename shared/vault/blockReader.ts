// The read side: fetches blocks by id through the index, coalescing neighbours in the same pack
// into one ranged read of up to 8 MiB, several ranges ahead, opens them on a worker pool, and
// verifies every block (its GCM tag, whose associated data binds the vault id and the block id;
// docs/design.md, "Verification on read") before handing it out. Failures name the block, its pack,
// and the recovery points that reference it.
import { BLOB_ERROR_CODES } from '../blob/blobErrors';
import { readRangeInto } from '../blob/readRangeInto';
import { hasErrorCode } from '../errors';
import type { BlockJobFailure, BlockJobResult } from './blockJobs';
import { BlockOpenError } from './blockRecord';
import { openBlockPool, type BlockJobRunner } from './blockWorkerPool';
import { BLOCK_ID_BYTES } from './formatIds';
import type { IndexEntry } from './blockIndex';
import { pointsReferencing } from './pointReferences';
import { pageAlignedSharedBuffer } from './pageAlignedBuffer';
import { VAULT_KEYS, type Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError, type VaultErrorCode } from './vaultErrors';

/**
 * Largest coalesced ranged read. performance.md §4: 1–4 MiB ranges run at ~100 MB/s on Azurite,
 * 16 MiB ranges at 186–267; 8 MiB keeps READ_AHEAD_RANGES of them (plus their plaintext, up to
 * ~3× for text) well inside the 512 MB budget.
 */
export const MAX_COALESCED_READ_BYTES = 8 * 1024 * 1024;
/** Ranged reads (each then decoded on the pool) in flight ahead of the one being delivered. */
export const READ_AHEAD_RANGES = 3;

export interface ReadBlocksOptions {
  /** Where records are opened; default: a pool of worker threads for this call (blockWorkerPool.ts). */
  runner?: BlockJobRunner;
  /** writeBlocks: jobs in flight per worker thread (default WRITE_JOBS_PER_THREAD). */
  jobsPerThread?: number;
}

interface Run {
  /** ids[i .. i + entries.length) */
  i: number;
  entries: IndexEntry[];
  /** Set when ids[i] is in no index: reported when the run is reached, in order. */
  missing?: true;
}

type Fetched = { ok: true; result: BlockJobResult | BlockJobFailure } | { ok: false; error: unknown };

/**
 * Reads `ids` in order and calls `deliver(i, plaintext)` for each, awaiting it. Up to
 * READ_AHEAD_RANGES coalesced reads are fetched and opened ahead of delivery; delivery stays in order.
 */
export async function readBlocks(
  vault: Vault,
  ids: readonly Buffer[],
  deliver: (i: number, plain: Buffer) => Promise<void>,
  opts: ReadBlocksOptions = {},
): Promise<void> {
  const runs = planRuns(vault, ids);
  if (runs.length === 0) return;
  const runner = opts.runner ?? openBlockPool(vault);
  const fetch = (run: Run): Promise<Fetched> => {
    if (run.missing) return Promise.resolve({ ok: false, error: undefined });
    return fetchAndOpen(vault, ids, run, runner).then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error }),
    );
  };
  try {
    const ahead: Promise<Fetched>[] = [];
    let next = 0;
    for (let r = 0; r < runs.length; r += 1) {
      while (next < runs.length && next <= r + READ_AHEAD_RANGES) ahead.push(fetch(runs[next++]!));
      const run = runs[r]!;
      const got = await ahead.shift()!;
      if (run.missing) {
        throw await blockFailure(
          vault,
          VAULT_ERROR_CODES.BLOCK_MISSING,
          ids[run.i]!,
          undefined,
          'not in any index',
        );
      }
      if (!got.ok) throw await readFailure(vault, ids[run.i]!, run.entries[0]!.packId, got.error);
      const res = got.result;
      if ('failedAt' in res) {
        const e = run.entries[res.failedAt]!;
        throw await blockFailure(
          vault,
          VAULT_ERROR_CODES.BLOCK_CORRUPT,
          ids[run.i + res.failedAt]!,
          e.packId,
          res.message,
          new BlockOpenError(res.message),
        );
      }
      const plain = Buffer.from(res.data.buffer, res.data.byteOffset, res.data.byteLength);
      let at = 0;
      for (let k = 0; k < run.entries.length; k += 1) {
        const len = res.lengths[k]!;
        await deliver(run.i + k, plain.subarray(at, at + len));
        at += len;
      }
    }
  } finally {
    if (!opts.runner) await runner.close();
  }
}

/** Coalesced reads being fetched or opened at once per worker thread (writeBlocks). */
export const WRITE_JOBS_PER_THREAD = 4;

export interface BlockTarget {
  /** The plaintext length each block must have (checked in the worker, before output). */
  lengths: readonly number[];
  /** Where each id's block goes (a byte offset; consecutive blocks are written together). */
  positions: readonly number[];
  /**
   * Writes `data` (a view of a shared, reused buffer: copy it if you keep it past the promise) at
   * `position`. Several calls may be in flight, at non-overlapping positions. A run's first block
   * starts at index 0 of a page-aligned buffer, so `data` is page aligned wherever the blocks
   * before it in the run are (they are whole blocks).
   */
  write: (position: number, data: Buffer) => Promise<void>;
  /** Called on this thread with the bytes of each finished job (progress, background syncs). */
  onWritten?: (bytes: number) => void;
}

/**
 * Reads `ids` like readBlocks, for a target that takes blocks in any order (a disk): each coalesced
 * range is read into a shared input buffer from a fixed pool, opened by a job into a shared output
 * buffer from a second pool, and the caller's `write` is called on that buffer (contiguous blocks in
 * one call). The two pools are separate so a range's input goes back as soon as its job is done,
 * while its output is still being written: the next read starts at once instead of waiting on the
 * write, and the workers always have a job queued. Up to 1 + WRITE_JOBS_PER_THREAD × threads reads
 * and as many outputs are in flight, so nothing waits in order and nothing is allocated per block
 * on this thread. Every block is verified before it is written; on the first failure no further
 * job starts and the failure (the same errors as readBlocks) is thrown once the running ones have
 * finished. Blocks of other jobs may have been written by then.
 */
export async function writeBlocks(
  vault: Vault,
  ids: readonly Buffer[],
  target: BlockTarget,
  opts: ReadBlocksOptions = {},
): Promise<void> {
  const runs = planRuns(vault, ids, target.lengths);
  if (runs.length === 0) return;
  const runner = opts.runner ?? openBlockPool(vault);
  const limit = 1 + (opts.jobsPerThread ?? WRITE_JOBS_PER_THREAD) * Math.max(1, runner.threads);
  // Shared, so the worker reads the records and writes the plaintexts in place (no transfer, no
  // copy) and the main thread allocates nothing per range (fresh 8 MiB reads cost ~1 s of GC per
  // 2 GiB). `limit` inputs and `limit` outputs of 8 MiB: 144 MiB with the default 4 jobs per thread
  // on 2 cores, at most (1 + 4 × MAX_BLOCK_WORKERS) × 16 MiB = 272 MiB.
  const slots = Math.min(limit, runs.length);
  // Outputs are page aligned, and the plaintext starts at index 0 of its output, so a target can
  // write block-aligned runs with O_DIRECT (directFileWriter.ts).
  const inputs: Uint8Array[] = Array.from(
    { length: slots },
    () => new Uint8Array(new SharedArrayBuffer(MAX_COALESCED_READ_BYTES)),
  );
  const outputs: Uint8Array[] = Array.from({ length: slots }, () =>
    pageAlignedSharedBuffer(MAX_COALESCED_READ_BYTES),
  );
  const outputWaiters: ((out: Uint8Array) => void)[] = [];
  const takeOutput = (): Promise<Uint8Array> => {
    const out = outputs.pop();
    return out ? Promise.resolve(out) : new Promise((resolve) => outputWaiters.push(resolve));
  };
  const giveOutput = (out: Uint8Array): void => {
    const waiter = outputWaiters.shift();
    if (waiter) waiter(out);
    else outputs.push(out);
  };
  let failure: { run: number; error: unknown } | undefined;
  const fail = (run: number, error: unknown): void => {
    if (!failure || run < failure.run) failure = { run, error };
  };
  /** Runs job `r` on `input`; calls `opened` once `input` is free again (before the writes). */
  const one = async (r: number, input: Uint8Array, opened: () => void): Promise<void> => {
    const run = runs[r]!;
    if (run.missing) {
      opened();
      fail(
        r,
        await blockFailure(
          vault,
          VAULT_ERROR_CODES.BLOCK_MISSING,
          ids[run.i]!,
          undefined,
          'not in any index',
        ),
      );
      return;
    }
    const n = run.entries.length;
    const expect = new Uint32Array(n);
    for (let k = 0; k < n; k += 1) expect[k] = target.lengths[run.i + k]!;
    let out: Uint8Array | undefined;
    let res: BlockJobResult | BlockJobFailure;
    try {
      res = await fetchAndOpen(vault, ids, run, runner, {
        expect,
        input,
        out: async () => (out = await takeOutput()),
      });
    } catch (err) {
      opened();
      if (out) giveOutput(out);
      fail(r, await readFailure(vault, ids[run.i]!, run.entries[0]!.packId, err));
      return;
    }
    opened();
    if ('failedAt' in res) {
      if (out) giveOutput(out);
      const e = run.entries[res.failedAt]!;
      fail(
        r,
        await blockFailure(
          vault,
          VAULT_ERROR_CODES.BLOCK_CORRUPT,
          ids[run.i + res.failedAt]!,
          e.packId,
          res.message,
          new BlockOpenError(res.message),
        ),
      );
      return;
    }
    out = new Uint8Array(res.data.buffer, 0, res.data.buffer.byteLength);
    try {
      const plain = Buffer.from(res.data.buffer, res.data.byteOffset, res.data.byteLength);
      const writes: Promise<void>[] = [];
      let at = 0;
      for (let k = 0; k < n;) {
        // Blocks that are consecutive on the target go in one write.
        const start = target.positions[run.i + k]!;
        let end = start;
        const from = at;
        while (k < n && target.positions[run.i + k] === end) {
          end += res.lengths[k]!;
          at += res.lengths[k]!;
          k += 1;
        }
        writes.push(target.write(start, plain.subarray(from, at)));
      }
      await Promise.all(writes);
      target.onWritten?.(at);
    } finally {
      giveOutput(out);
    }
  };
  const running = new Set<Promise<void>>();
  const inputFreed: (() => void)[] = [];
  const nextInput = async (): Promise<Uint8Array> => {
    for (;;) {
      const input = inputs.pop();
      if (input) return input;
      await new Promise<void>((resolve) => inputFreed.push(resolve));
    }
  };
  const freeInput = (input: Uint8Array): void => {
    inputs.push(input);
    inputFreed.shift()?.();
  };
  try {
    for (let r = 0; r < runs.length && !failure; r += 1) {
      const input = await nextInput();
      if (failure) {
        freeInput(input);
        break;
      }
      let freed = false;
      const release = (): void => {
        if (freed) return;
        freed = true;
        freeInput(input);
      };
      const p: Promise<void> = one(r, input, release)
        .catch((err: unknown) => fail(r, err))
        .finally(() => {
          release();
          running.delete(p);
        });
      running.add(p);
    }
    await Promise.all(running);
  } finally {
    if (!opts.runner) await runner.close();
  }
  if (failure) throw failure.error;
}

/** Groups `ids` into runs of records that lie back to back in one pack, each one ranged read. */
function planRuns(vault: Vault, ids: readonly Buffer[], plainLengths?: readonly number[]): Run[] {
  const runs: Run[] = [];
  let i = 0;
  while (i < ids.length) {
    const first = lookup(vault, ids[i]!);
    if (!first) {
      runs.push({ i, entries: [], missing: true });
      break; // nothing after a missing block is delivered
    }
    let j = i + 1;
    let end = first.offset + first.length;
    let plain = plainLengths?.[i] ?? 0;
    const entries: IndexEntry[] = [first];
    while (j < ids.length) {
      const next = lookup(vault, ids[j]!);
      if (!next || next.packId !== first.packId || next.offset !== end) break;
      if (end + next.length - first.offset > MAX_COALESCED_READ_BYTES) break;
      // writeBlocks: the plaintexts must fit one output buffer of the same size.
      if (plainLengths && plain + plainLengths[j]! > MAX_COALESCED_READ_BYTES) break;
      plain += plainLengths?.[j] ?? 0;
      entries.push(next);
      end += next.length;
      j += 1;
    }
    runs.push({ i, entries });
    i = j;
  }
  return runs;
}

async function fetchAndOpen(
  vault: Vault,
  ids: readonly Buffer[],
  run: Run,
  runner: BlockJobRunner,
  into?: { expect: Uint32Array; input: Uint8Array; out: () => Promise<Uint8Array> },
): Promise<BlockJobResult | BlockJobFailure> {
  const first = run.entries[0]!;
  const last = run.entries[run.entries.length - 1]!;
  const length = last.offset + last.length - first.offset;
  const key = VAULT_KEYS.pack(first.packId);
  const data = into
    ? await readRangeInto(vault.store, key, first.offset, length, into.input)
    : await vault.store.getRange(key, first.offset, length);
  if (data.byteLength !== length) throw new ShortReadError();
  const n = run.entries.length;
  const idBytes = new Uint8Array(n * BLOCK_ID_BYTES);
  const spans = new Uint32Array(2 * n);
  for (let k = 0; k < n; k += 1) {
    const e = run.entries[k]!;
    idBytes.set(ids[run.i + k]!, k * BLOCK_ID_BYTES);
    spans[2 * k] = e.offset - first.offset;
    spans[2 * k + 1] = e.length;
  }
  // Restores do not recompute ids: the GCM tag over AAD that names the vault and the block id is
  // the read check (docs/design.md, "Verification on read"); verify() still recomputes them.
  if (into) {
    // A shared input is seen by the worker in place; it is reused only after this job has finished.
    return runner.run({
      kind: 'open',
      data,
      ids: idBytes,
      spans,
      checkIds: false,
      expect: into.expect,
      // Taken only now, after the read: an output is held from here until its writes are done.
      out: await into.out(),
    });
  }
  // The ranged read's bytes are ours (BlobStore contract): lend them to the job instead of copying.
  return runner.run({ kind: 'open', data, transferInput: true, ids: idBytes, spans, checkIds: false });
}

class ShortReadError extends Error {}

async function readFailure(vault: Vault, id: Buffer, packId: string, err: unknown): Promise<unknown> {
  if (err instanceof ShortReadError)
    return blockFailure(vault, VAULT_ERROR_CODES.BLOCK_CORRUPT, id, packId, 'short read from its pack');
  if (hasErrorCode(err, BLOB_ERROR_CODES.NOT_FOUND))
    return blockFailure(vault, VAULT_ERROR_CODES.BLOCK_MISSING, id, packId, 'its pack is missing', err);
  if (hasErrorCode(err, BLOB_ERROR_CODES.INVALID_RANGE))
    return blockFailure(vault, VAULT_ERROR_CODES.BLOCK_CORRUPT, id, packId, 'its pack is truncated', err);
  return err;
}

function lookup(vault: Vault, id: Buffer): IndexEntry | undefined {
  return vault.index.get(id);
}

async function blockFailure(
  vault: Vault,
  code: VaultErrorCode,
  id: Buffer,
  packId: string | undefined,
  reason: string,
  cause?: unknown,
): Promise<VaultError> {
  const blockId = id.toString('hex');
  const pointIds = await pointsReferencing(vault, blockId).catch(() => []);
  const what = code === VAULT_ERROR_CODES.BLOCK_CORRUPT ? 'corrupt' : 'missing';
  const message =
    `block ${blockId} is ${what}: ${reason}` +
    (packId ? ` (pack ${packId})` : '') +
    `; recovery points affected: ${pointIds.length ? pointIds.join(', ') : 'none found'}`;
  return new VaultError(
    code,
    message,
    { blockId, ...(packId ? { packId } : {}), pointIds },
    cause === undefined ? undefined : { cause },
  );
}
