// Segmented disk backups: a disk that is not a local file (a VM disk's page-blob snapshot, read
// through a DiskReader) backed up in independent segments that a durable orchestration fans out as
// activities, then committed as one recovery point. Three steps, each idempotent:
//   planDiskBackup    which byte ranges to read, cut into segments of at most maxSegmentBytes
//                     (plain JSON; saved as `sessions/<id>/plan`, so planning again returns it);
//   backupDiskSegment reads one segment through the ordinary block pipeline (diskScan.ts →
//                     BlockSink: zero check, id, dedup, sealing on the worker pool, packs, index),
//                     then saves its block map as `sessions/<id>/segment-NNNNNN`. A re-run of a
//                     saved segment returns the saved result without reading the disk; a run killed
//                     midway leaves committed packs that the re-run adopts (refreshIndex);
//   commitDiskBackup  merges the parent's block map with every segment's, writes the manifest, and
//                     writes the point LAST through commitPoint (the protocol that lets prune run
//                     concurrently), reloading the index first because the segments classified
//                     their blocks against other processes' views. The point id is derived from the
//                     plan, so a second commit finds the first one's point.
// docs/design.md ("Segmented disk backups") has the argument; docs/format.md the session objects.
import { createHash } from 'node:crypto';
import { BLOB_ERROR_CODES } from '../blob/blobErrors';
import { hasErrorCode } from '../errors';
import type { ByteRange, DiskReader } from './backupSource';
import { BlockSink } from './blockSink';
import { lazyBlockPool } from './blockWorkerPool';
import { commitPoint } from './commitPoint';
import { blockIdAt, newDiskBlockMap, type DiskBlockMap } from './diskManifest';
import {
  chunksOfRuns,
  POOL_MIN_READ_BYTES,
  READ_GAP_MERGE_BYTES,
  scanDisk,
  type ReadChunk,
} from './diskScan';
import {
  deleteSavedSegments,
  planFingerprint,
  readSavedCommit,
  readSavedPlan,
  readSavedSegment,
  sessionIdOf,
  writeSavedCommit,
  writeSavedPlan,
  writeSavedSegment,
  type DiskBackupPlan,
  type DiskBackupSegment,
  type SavedSegment,
  type SegmentResult,
} from './diskSession';
import { BLOCK_ID_BYTES, EXTENT_KIND } from './formatIds';
import { markIndexExact } from './indexView';
import { readDiskManifest, writeDiskManifest } from './manifestStore';
import { ProgressMeter, type ProgressCallback } from './progress';
import { readPoint, type RecoveryPoint } from './recoveryPoint';
import { refreshIndex, UNINDEXED_PACK_MAX_AGE_MS } from './refreshIndex';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import { withVaultWriteLock } from './vaultLock';

export type { DiskBackupPlan, DiskBackupSegment, SegmentResult } from './diskSession';

/**
 * 512 MiB per segment: at the ~150 MB/s of the local pipeline that is ~4 s, and still under a
 * minute at 10 MB/s from a throttled page blob, well inside a 2-minute activity.
 */
export const DEFAULT_SEGMENT_BYTES = 512 * 1024 * 1024;
/** Plan ids are the caller's (job id + disk); they are hashed into object names, never used as keys. */
export const PLAN_ID_MAX_CHARS = 512;

export interface PlanDiskBackupInput {
  planId: string;
  diskName: string;
  sizeBytes: number;
  parentPointId?: string;
  /**
   * With a parent: ranges changed since the parent's snapshot. Without: the written (valid) ranges;
   * bytes outside read as zero and are recorded as unwritten. 'unknown' = no change tracking: read
   * the whole disk; dedup against the index keeps the upload to the changed blocks.
   */
  ranges: readonly ByteRange[] | 'unknown';
  /** Default DEFAULT_SEGMENT_BYTES; rounded down to whole blocks. */
  maxSegmentBytes?: number;
}

export interface DiskSegmentResult extends SegmentResult {
  /** True when the result was saved by an earlier run (nothing was read this time). */
  reused?: boolean;
}

export interface BackupDiskSegmentOptions {
  onProgress?: ProgressCallback;
  /** Clock (pack stamps, session stamps); tests inject one. */
  now?: () => Date;
  /** Default UNINDEXED_PACK_MAX_AGE_MS. */
  unindexedPackMaxAgeMs?: number;
}

export interface CommitDiskBackupOptions {
  /** Labels stored in the point (e.g. VM id, snapshot name). */
  meta?: Record<string, string>;
  now?: () => Date;
  unindexedPackMaxAgeMs?: number;
  /** From the final index check to issuing the point's put; default POINT_WRITE_WINDOW_MS. */
  pointWriteWindowMs?: number;
}

export interface CommitDiskBackupResult {
  pointId: string;
  /** Sum over segments. */
  bytesNewStored: number;
  bytesRead: number;
  blocksNew: number;
  blocksDedup: number;
  blocksZero: number;
  /** True when the point already existed (an earlier commit of the same plan). */
  alreadyCommitted?: boolean;
}

// ---- plan ----------------------------------------------------------------------------------------

export async function planDiskBackup(vault: Vault, input: PlanDiskBackupInput): Promise<DiskBackupPlan> {
  checkPlanInput(input);
  const bs = vault.config.blockSizeBytes;
  const maxSegmentBytes = input.maxSegmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const sessionId = sessionIdOf(vault, input.planId);
  const inputDigest = planInputDigest(input, maxSegmentBytes);
  const existing = await readSavedPlan(vault, sessionId);
  if (existing) return samePlanOrConflict(existing, inputDigest, input.planId);

  const size = input.sizeBytes;
  const blocks = Math.ceil(size / bs);
  let runs: ReadChunk[];
  let full = true;
  if (input.parentPointId !== undefined) {
    const parent = await readPoint(vault, input.parentPointId);
    const manifest = parent.manifests.find((m) => m.kind === 'disk');
    if (!manifest) {
      throw new VaultError(
        VAULT_ERROR_CODES.INVALID_ARGUMENT,
        `parent point ${parent.id} is a ${parent.source.kind}, not a disk`,
      );
    }
    const parentMap = input.ranges === 'unknown' ? undefined : await readDiskManifest(vault, manifest.id);
    if (
      input.ranges !== 'unknown' &&
      parentMap &&
      parentMap.diskSize === size &&
      parentMap.blockSize === bs
    ) {
      full = false;
      const mustRead = new Uint8Array(blocks);
      for (const [lo, hi] of runsOfRanges(input.ranges, bs, size)) mustRead.fill(1, lo, hi);
      // A parent block that has left the index (pruned since) is read again, not copied.
      await withVaultWriteLock(vault, () => refreshIndex(vault, { adopt: false }));
      for (let b = 0; b < blocks; b += 1)
        if (
          !mustRead[b] &&
          parentMap.kinds[b] === EXTENT_KIND.DATA &&
          !vault.index.has(blockIdAt(parentMap, b))
        )
          mustRead[b] = 1;
      runs = mergeGaps(runsOfMask(mustRead), bs);
    } else {
      runs = blocks > 0 ? [[0, blocks]] : []; // 'unknown', or a resized disk: read it all
    }
  } else {
    runs =
      input.ranges === 'unknown'
        ? blocks > 0
          ? [[0, blocks]]
          : []
        : mergeGaps(runsOfRanges(input.ranges, bs, size), bs);
  }

  const plan: DiskBackupPlan = {
    planId: input.planId,
    diskName: input.diskName,
    sizeBytes: size,
    ...(input.parentPointId === undefined ? {} : { parentPointId: input.parentPointId }),
    full,
    segments: segmentsOf(runs, bs, size, maxSegmentBytes),
    createdAt: new Date().toISOString(),
    blockSizeBytes: bs,
  };
  if (await writeSavedPlan(vault, sessionId, { input: inputDigest, plan }, Date.now())) return plan;
  // Planned concurrently with the same planId: the first plan saved wins.
  const winner = await readSavedPlan(vault, sessionId);
  if (!winner) throw new Error(`plan ${input.planId}: session plan vanished while being written`);
  return samePlanOrConflict(winner, inputDigest, input.planId);
}

function samePlanOrConflict(
  saved: { input: string; plan: DiskBackupPlan },
  digest: string,
  planId: string,
): DiskBackupPlan {
  if (saved.input !== digest) {
    throw new VaultError(
      VAULT_ERROR_CODES.PLAN_CONFLICT,
      `plan id ${planId} was already planned with a different input; use a new plan id`,
      { planId },
    );
  }
  return saved.plan;
}

function checkPlanInput(input: PlanDiskBackupInput): void {
  const bad = (why: string): never => {
    throw new VaultError(VAULT_ERROR_CODES.INVALID_ARGUMENT, `planDiskBackup: ${why}`);
  };
  if (
    typeof input.planId !== 'string' ||
    input.planId.length === 0 ||
    input.planId.length > PLAN_ID_MAX_CHARS
  )
    bad(`planId must be 1–${PLAN_ID_MAX_CHARS} characters`);
  if (typeof input.diskName !== 'string' || input.diskName.length === 0 || input.diskName.length > 1024)
    bad('diskName must be 1–1024 characters');
  if (!Number.isSafeInteger(input.sizeBytes) || input.sizeBytes < 0)
    bad('sizeBytes must be a non-negative integer');
  if (
    input.maxSegmentBytes !== undefined &&
    (!Number.isSafeInteger(input.maxSegmentBytes) || input.maxSegmentBytes <= 0)
  )
    bad('maxSegmentBytes must be a positive integer');
  if (input.ranges !== 'unknown') {
    const ranges: readonly ByteRange[] = input.ranges;
    if (!isArray(ranges)) bad("ranges must be an array or 'unknown'");
    for (const r of ranges) {
      if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0)
        bad(`range ${JSON.stringify(r)} must have non-negative integer offset and length`);
    }
  }
}

/** Array.isArray without narrowing a readonly array to any[]. */
function isArray(x: unknown): boolean {
  return Array.isArray(x);
}

function planInputDigest(input: PlanDiskBackupInput, maxSegmentBytes: number): string {
  const ranges = input.ranges === 'unknown' ? 'unknown' : input.ranges.map((r) => [r.offset, r.length]);
  const canonical = [
    'strongbox/v1/disk-plan-input',
    input.planId,
    input.diskName,
    input.sizeBytes,
    input.parentPointId ?? null,
    ranges,
    maxSegmentBytes,
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/** Byte ranges → sorted, disjoint block runs [lo, hi), clipped to the disk. */
export function runsOfRanges(ranges: readonly ByteRange[], bs: number, size: number): ReadChunk[] {
  const raw: [number, number][] = [];
  for (const r of ranges) {
    const start = Math.max(0, r.offset);
    const end = Math.min(size, r.offset + r.length);
    if (end > start) raw.push([Math.floor(start / bs), Math.ceil(end / bs)]);
  }
  raw.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of raw) {
    const last = out[out.length - 1];
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function runsOfMask(mask: Uint8Array): ReadChunk[] {
  const out: ReadChunk[] = [];
  for (let b = 0; b < mask.length;) {
    if (!mask[b]) {
      b += 1;
      continue;
    }
    const lo = b;
    while (b < mask.length && mask[b]) b += 1;
    out.push([lo, b]);
  }
  return out;
}

/** Joins runs separated by at most READ_GAP_MERGE_BYTES: one read beats two (fewer ranges in the plan too). */
function mergeGaps(runs: readonly ReadChunk[], bs: number): ReadChunk[] {
  const maxGap = Math.floor(READ_GAP_MERGE_BYTES / bs);
  const out: [number, number][] = [];
  for (const [lo, hi] of runs) {
    const last = out[out.length - 1];
    if (last && lo - last[1] <= maxGap) last[1] = hi;
    else out.push([lo, hi]);
  }
  return out;
}

function segmentsOf(
  runs: readonly ReadChunk[],
  bs: number,
  size: number,
  maxSegmentBytes: number,
): DiskBackupSegment[] {
  const maxBlocks = Math.max(1, Math.floor(maxSegmentBytes / bs));
  const segments: DiskBackupSegment[] = [];
  let cur: DiskBackupSegment | undefined;
  let curBlocks = 0;
  for (const run of runs) {
    let [lo] = run;
    const hi = run[1];
    while (lo < hi) {
      if (!cur || curBlocks >= maxBlocks) {
        cur = { index: segments.length, ranges: [], bytes: 0 };
        curBlocks = 0;
        segments.push(cur);
      }
      const take = Math.min(hi - lo, maxBlocks - curBlocks);
      const offset = lo * bs;
      const length = Math.min(size, (lo + take) * bs) - offset;
      cur.ranges.push({ offset, length });
      cur.bytes += length;
      curBlocks += take;
      lo += take;
    }
  }
  return segments;
}

// ---- plan checks (segments and commit refuse a plan that is malformed or not their session's) ----

function checkPlan(vault: Vault, plan: DiskBackupPlan): void {
  const bad = (why: string): never => {
    throw new VaultError(
      VAULT_ERROR_CODES.INVALID_ARGUMENT,
      `disk backup plan ${String(plan?.planId)}: ${why}`,
      {
        ...(typeof plan?.planId === 'string' ? { planId: plan.planId } : {}),
      },
    );
  };
  if (
    typeof plan !== 'object' ||
    plan === null ||
    typeof plan.planId !== 'string' ||
    plan.planId.length === 0
  )
    bad('not a plan');
  const bs = vault.config.blockSizeBytes;
  if (plan.blockSizeBytes !== undefined && plan.blockSizeBytes !== bs)
    bad(`planned for ${plan.blockSizeBytes}-byte blocks; this vault uses ${bs}`);
  if (!Number.isSafeInteger(plan.sizeBytes) || plan.sizeBytes < 0) bad('bad sizeBytes');
  if (!Array.isArray(plan.segments)) bad('no segments');
  let end = 0;
  plan.segments.forEach((s, i) => {
    if (s.index !== i) bad(`segment ${i} has index ${s.index}`);
    let bytes = 0;
    for (const r of s.ranges) {
      const ok =
        Number.isSafeInteger(r.offset) &&
        Number.isSafeInteger(r.length) &&
        r.length > 0 &&
        r.offset >= end &&
        r.offset % bs === 0 &&
        r.offset + r.length <= plan.sizeBytes &&
        (r.length % bs === 0 || r.offset + r.length === plan.sizeBytes);
      if (!ok)
        bad(`segment ${i}: range ${JSON.stringify(r)} is not block-aligned, sorted and inside the disk`);
      end = r.offset + r.length;
      bytes += r.length;
    }
    if (bytes !== s.bytes) bad(`segment ${i}: bytes ${s.bytes} ≠ ${bytes} in its ranges`);
  });
}

function blockRunsOfSegment(seg: DiskBackupSegment, bs: number): ReadChunk[] {
  return seg.ranges.map((r) => [r.offset / bs, Math.ceil((r.offset + r.length) / bs)] as const);
}

function blocksIn(runs: readonly ReadChunk[]): number {
  return runs.reduce((n, [lo, hi]) => n + hi - lo, 0);
}

function segmentOf(vault: Vault, plan: DiskBackupPlan, index: number): DiskBackupSegment {
  checkPlan(vault, plan);
  const seg = plan.segments[index];
  if (!Number.isInteger(index) || !seg)
    throw new VaultError(
      VAULT_ERROR_CODES.INVALID_ARGUMENT,
      `plan ${plan.planId} has no segment ${index} (it has ${plan.segments.length})`,
      { planId: plan.planId },
    );
  return seg;
}

function conflict(plan: DiskBackupPlan, what: string): VaultError {
  return new VaultError(
    VAULT_ERROR_CODES.PLAN_CONFLICT,
    `plan ${plan.planId}: ${what} was saved for a different plan with the same plan id; plan again with a new plan id`,
    { planId: plan.planId },
  );
}

// ---- segment -------------------------------------------------------------------------------------

export async function backupDiskSegment(
  vault: Vault,
  plan: DiskBackupPlan,
  index: number,
  reader: DiskReader,
  opts: BackupDiskSegmentOptions = {},
): Promise<DiskSegmentResult> {
  const seg = segmentOf(vault, plan, index);
  const bs = vault.config.blockSizeBytes;
  const runs = blockRunsOfSegment(seg, bs);
  const sessionId = sessionIdOf(vault, plan.planId);
  const fingerprint = planFingerprint(plan);
  const reuse = async (): Promise<DiskSegmentResult | undefined> => {
    const saved = await readSavedSegment(vault, sessionId, index, blocksIn(runs));
    if (saved) {
      if (saved.fingerprint !== fingerprint) throw conflict(plan, `segment ${index}`);
      return { ...saved.result, reused: true };
    }
    const committed = await readSavedCommit(vault, sessionId);
    if (committed) {
      if (committed.fingerprint !== fingerprint) throw conflict(plan, 'the commit record');
      const result = committed.segments[index];
      if (result) return { ...result, reused: true };
    }
    return undefined;
  };
  const earlier = await reuse();
  if (earlier) return earlier;

  return withVaultWriteLock(vault, async () => {
    const now = opts.now ?? (() => new Date());
    const maxAge = opts.unindexedPackMaxAgeMs ?? UNINDEXED_PACK_MAX_AGE_MS;
    // A fresh view, adopting the packs of a killed run of this (or any) segment, so a re-run
    // uploads only what the killed run had not committed.
    const refreshed = await refreshIndex(vault, { nowMs: now().getTime(), unindexedPackMaxAgeMs: maxAge });
    const sink = new BlockSink(vault, { now });
    sink.addUnindexed(refreshed.adoptedEntries);
    const total = blocksIn(runs);
    const kinds = new Uint8Array(total);
    const ids = Buffer.allocUnsafe(total * BLOCK_ID_BYTES);
    let pos = 0;
    let dataBlocks = 0;
    const runner = seg.bytes >= POOL_MIN_READ_BYTES ? lazyBlockPool(vault) : undefined;
    let bytesRead: number;
    try {
      bytesRead = await scanDisk({
        sink,
        blockSize: bs,
        diskSize: plan.sizeBytes,
        chunks: chunksOfRuns(runs, bs),
        read: async (_k, offset, length) => {
          // Returned as is: scanDisk copies it into its own (pooled, lendable) buffer.
          const data = await reader.read(offset, length);
          if (data.length !== length) {
            throw new VaultError(
              VAULT_ERROR_CODES.SOURCE_UNREADABLE,
              `disk ${plan.diskName}: read of ${length} bytes at ${offset} returned ${data.length}`,
            );
          }
          return data;
        },
        // Every block of the segment is processed, in order: pos is its place in the segment map.
        record: (_b, id) => {
          if (id === null) kinds[pos] = EXTENT_KIND.ZERO;
          else {
            kinds[pos] = EXTENT_KIND.DATA;
            id.copy(ids, dataBlocks * BLOCK_ID_BYTES);
            dataBlocks += 1;
          }
          pos += 1;
        },
        meter: new ProgressMeter(seg.bytes, opts.onProgress),
        runner,
      });
      await sink.finish(); // packs, then the index
      markIndexExact(vault);
    } catch (err) {
      await sink.abort().catch(() => undefined);
      throw err;
    } finally {
      await runner?.close();
    }
    const s = sink.stats;
    const result: SegmentResult = {
      bytesRead,
      bytesNewStored: s.bytesNewStored,
      blocksNew: s.blocksNew,
      blocksDedup: s.blocksDedup,
      blocksZero: s.blocksZero,
    };
    const createdMs = now().getTime();
    const saved: SavedSegment = {
      fingerprint,
      index,
      result,
      packs: [...sink.ownPacks].map((id) => ({ id, createdMs })),
      map: { kinds, ids: ids.subarray(0, dataBlocks * BLOCK_ID_BYTES) },
    };
    if (await writeSavedSegment(vault, sessionId, saved, createdMs)) return result;
    // A concurrent run of the same segment saved first: both stored their blocks; use the saved one.
    return (await reuse()) ?? result;
  });
}

// ---- commit --------------------------------------------------------------------------------------

/** The point id of a plan: its creation time (so points list in time order) and a keyed hash of its id. */
export function pointIdOfPlan(vault: Vault, plan: DiskBackupPlan): string {
  const ms = Date.parse(plan.createdAt ?? '');
  if (!Number.isFinite(ms) || ms < 0)
    throw new VaultError(VAULT_ERROR_CODES.INVALID_ARGUMENT, `plan ${plan.planId} has no valid createdAt`, {
      planId: plan.planId,
    });
  return `${String(ms).padStart(13, '0')}-${vault.keys.nameFor('disk-point', plan.planId, 6)}`;
}

export async function commitDiskBackup(
  vault: Vault,
  plan: DiskBackupPlan,
  opts: CommitDiskBackupOptions = {},
): Promise<CommitDiskBackupResult> {
  checkPlan(vault, plan);
  const now = opts.now ?? (() => new Date());
  const maxAge = opts.unindexedPackMaxAgeMs ?? UNINDEXED_PACK_MAX_AGE_MS;
  const pointId = pointIdOfPlan(vault, plan);
  const sessionId = sessionIdOf(vault, plan.planId);
  const fingerprint = planFingerprint(plan);

  const existing = await readPointIfAny(vault, pointId);
  if (existing) return committedResult(plan, existing);

  const bs = vault.config.blockSizeBytes;
  const saved: SavedSegment[] = [];
  const missing: number[] = [];
  for (const seg of plan.segments) {
    const s = await readSavedSegment(vault, sessionId, seg.index, blocksIn(blockRunsOfSegment(seg, bs)));
    if (!s) missing.push(seg.index);
    else if (s.fingerprint !== fingerprint) throw conflict(plan, `segment ${seg.index}`);
    else saved.push(s);
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 20).join(', ') + (missing.length > 20 ? ', …' : '');
    throw new VaultError(
      VAULT_ERROR_CODES.SEGMENT_MISSING,
      `plan ${plan.planId}: ${missing.length} of ${plan.segments.length} segments have no saved result (${shown}); run them, then commit`,
      { planId: plan.planId, segments: missing },
    );
  }

  // The block map: the parent's (incremental) or all unwritten (full), then each segment's blocks.
  let map: DiskBlockMap;
  if (!plan.full) {
    if (plan.parentPointId === undefined)
      throw new VaultError(
        VAULT_ERROR_CODES.INVALID_ARGUMENT,
        `plan ${plan.planId} is incremental without a parent`,
      );
    const parent = await readPoint(vault, plan.parentPointId);
    const manifest = parent.manifests.find((m) => m.kind === 'disk');
    map = manifest ? await readDiskManifest(vault, manifest.id) : newDiskBlockMap(0, bs);
    if (map.diskSize !== plan.sizeBytes || map.blockSize !== bs) {
      throw new VaultError(
        VAULT_ERROR_CODES.INVALID_ARGUMENT,
        `plan ${plan.planId}: the parent's disk map (${map.diskSize} bytes) does not fit the disk (${plan.sizeBytes})`,
      );
    }
  } else {
    map = newDiskBlockMap(plan.sizeBytes, bs);
    map.kinds.fill(EXTENT_KIND.UNWRITTEN);
  }
  const totals: SegmentResult = {
    bytesRead: 0,
    bytesNewStored: 0,
    blocksNew: 0,
    blocksDedup: 0,
    blocksZero: 0,
  };
  const ownPacks = new Set<string>();
  const nowMs = now().getTime();
  for (const s of saved) {
    const runs = blockRunsOfSegment(plan.segments[s.index]!, bs);
    let pos = 0;
    let data = 0;
    for (const [lo, hi] of runs) {
      for (let b = lo; b < hi; b += 1, pos += 1) {
        const kind = s.map.kinds[pos]!;
        map.kinds[b] = kind;
        if (kind === EXTENT_KIND.DATA) {
          s.map.ids.copy(map.ids, b * BLOCK_ID_BYTES, data * BLOCK_ID_BYTES, (data + 1) * BLOCK_ID_BYTES);
          data += 1;
        }
      }
    }
    for (const k of Object.keys(totals) as (keyof SegmentResult)[]) totals[k] += s.result[k];
    // A pack the segments wrote is covered by prune's age margin while younger than the adoption
    // limit; an older one is treated like anyone else's (named in the reference index).
    for (const p of s.packs) if (nowMs - p.createdMs < maxAge) ownPacks.add(p.id);
  }

  return withVaultWriteLock(vault, async () => {
    const manifestId = await writeDiskManifest(vault, map);
    const point: RecoveryPoint = {
      v: 1,
      id: pointId,
      parentId: plan.parentPointId ?? null,
      time: new Date(Date.parse(plan.createdAt!)).toISOString(),
      source: { kind: 'disk', name: plan.diskName, sizeBytes: plan.sizeBytes },
      manifests: [{ id: manifestId, kind: 'disk' }],
      totals: { ...totals, sourceBytes: plan.sizeBytes },
      planId: plan.planId,
      ...(opts.meta ? { meta: { ...opts.meta } } : {}),
    };
    const startedMs = now().getTime();
    try {
      await commitPoint(vault, point, {
        forEachRef: (visit) => {
          for (let b = 0; b < map.kinds.length; b += 1)
            if (map.kinds[b] === EXTENT_KIND.DATA) visit(blockIdAt(map, b));
        },
        ownPacks,
        adoptedPacks: new Map(),
        startedMs,
        nowMs: () => now().getTime(),
        unindexedPackMaxAgeMs: maxAge,
        // The segments classified their blocks against other processes' views: check them all now.
        reloadFirst: true,
        ...(opts.pointWriteWindowMs === undefined ? {} : { pointWriteWindowMs: opts.pointWriteWindowMs }),
      }); // LAST: only now does the point exist
    } catch (err) {
      // A concurrent commit of the same plan wrote the point first (same id): that one stands.
      if (!hasErrorCode(err, BLOB_ERROR_CODES.ALREADY_EXISTS)) throw err;
      const first = await readPointIfAny(vault, pointId);
      if (!first) throw err;
      return committedResult(plan, first);
    }
    // Bookkeeping after the point; a crash here only leaves work for prune.
    await writeSavedCommit(
      vault,
      sessionId,
      { fingerprint, pointId, segments: saved.map((s) => s.result) },
      now().getTime(),
    ).catch(() => false);
    await deleteSavedSegments(vault, sessionId).catch(() => 0);
    return { pointId, ...totals };
  });
}

async function readPointIfAny(vault: Vault, pointId: string): Promise<RecoveryPoint | undefined> {
  try {
    return await readPoint(vault, pointId);
  } catch (err) {
    if (hasErrorCode(err, VAULT_ERROR_CODES.POINT_NOT_FOUND)) return undefined;
    throw err;
  }
}

function committedResult(plan: DiskBackupPlan, point: RecoveryPoint): CommitDiskBackupResult {
  if (point.planId !== plan.planId) {
    throw new VaultError(
      VAULT_ERROR_CODES.PLAN_CONFLICT,
      `point ${point.id} exists but belongs to plan ${String(point.planId)}, not ${plan.planId}`,
      { planId: plan.planId },
    );
  }
  const t = point.totals;
  return {
    pointId: point.id,
    bytesNewStored: t.bytesNewStored,
    bytesRead: t.bytesRead,
    blocksNew: t.blocksNew,
    blocksDedup: t.blocksDedup,
    blocksZero: t.blocksZero,
    alreadyCommitted: true,
  };
}
