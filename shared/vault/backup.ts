// backup(): one recovery point of one source. Write order (docs/design.md): blocks into packs →
// index → manifest → recovery point, LAST. If anything fails before the point is written, no point
// exists and the vault is unchanged as far as any reader is concerned (committed packs and indexes
// of the failed run are reused by the next run, or collected by prune later).
import type { BackupSource, ChangedRanges } from './backupSource';
import { backupDirectoryTree, type SkippedEntry } from './backupDirectoryTree';
import { backupDiskImage } from './backupDiskImage';
import { BlockSink, type BlockSinkOptions } from './blockSink';
import { blockIdAt, type DiskBlockMap } from './diskManifest';
import { readDiskManifest, writeDiskManifest, writeTreeManifest } from './manifestStore';
import type { ProgressCallback } from './progress';
import { commitPoint } from './commitPoint';
import { EXTENT_KIND } from './formatIds';
import { newPointId, readPoint, type RecoveryPoint } from './recoveryPoint';
import { markIndexExact } from './indexView';
import { refreshIndex, UNINDEXED_PACK_MAX_AGE_MS, type TornPack } from './refreshIndex';
import { forEachTreeBlock } from './treeManifest';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import { withVaultWriteLock } from './vaultLock';
import * as path from 'node:path';

export interface BackupOptions extends BlockSinkOptions {
  /** The previous point of the same source: its change token and block map are reused. */
  parentPointId?: string;
  changedRanges?: ChangedRanges;
  onProgress?: ProgressCallback;
  now?: () => Date;
  /** Packs no index names are adopted (and relied on) only while younger than this. Default 23 h. */
  unindexedPackMaxAgeMs?: number;
  /** From the final index check to issuing the point's put; default POINT_WRITE_WINDOW_MS (60 s). */
  pointWriteWindowMs?: number;
  /** Whole re-runs after VAULT.CONCURRENT_PRUNE before giving up. Default 2. */
  concurrentPruneRetries?: number;
}

export interface BackupResult {
  pointId: string;
  /** Bytes read from the source. */
  bytesRead: number;
  /** Bytes of new block records stored (after compression and encryption). */
  bytesNewStored: number;
  blocksNew: number;
  blocksDedup: number;
  blocksZero: number;
  packsWritten: number;
  indexesWritten: number;
  /** Directory trees: entries that were not backed up (sockets, FIFOs, devices). */
  skipped: SkippedEntry[];
  /** Packs of a crashed run that no index named, re-indexed from their headers and reused. */
  packsAdopted: number;
  /** Unindexed packs that did not parse (torn uploads); ignored, left for prune. */
  tornPacks: TornPack[];
}

export async function backup(
  vault: Vault,
  source: BackupSource,
  opts: BackupOptions = {},
): Promise<BackupResult> {
  const retries = opts.concurrentPruneRetries ?? 2;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await withVaultWriteLock(vault, () => backupOnce(vault, source, opts));
    } catch (err) {
      if (attempt >= retries || (err as { code?: string }).code !== VAULT_ERROR_CODES.CONCURRENT_PRUNE)
        throw err;
    }
  }
}

async function backupOnce(vault: Vault, source: BackupSource, opts: BackupOptions): Promise<BackupResult> {
  const now = opts.now ?? (() => new Date());
  const startedMs = now().getTime();
  const maxAge = opts.unindexedPackMaxAgeMs ?? UNINDEXED_PACK_MAX_AGE_MS;
  // A fresh view: the open vault's index may be stale (prune, other writers), and packs of a
  // crashed run that no index names are adopted from their headers so their blocks are reused.
  const refreshed = await refreshIndex(vault, { nowMs: startedMs, unindexedPackMaxAgeMs: maxAge });
  const parent = opts.parentPointId === undefined ? undefined : await readPoint(vault, opts.parentPointId);
  if (parent && parent.source.kind !== source.kind) {
    throw new VaultError(
      VAULT_ERROR_CODES.INVALID_ARGUMENT,
      `parent point ${parent.id} is of a ${parent.source.kind}, not a ${source.kind}`,
    );
  }
  const sink = new BlockSink(vault, { ...opts, now });
  // Adopted entries go into this run's index blob, before any point can reference them.
  sink.addUnindexed(refreshed.adoptedEntries);
  let forEachRef: (visit: (blockId: Buffer) => void) => void;
  let manifest: RecoveryPoint['manifests'][number];
  let bytesRead: number;
  let sourceBytes: number;
  let changeToken: string | undefined;
  let skipped: SkippedEntry[] = [];
  try {
    if (source.kind === 'diskImage') {
      let parentMap: DiskBlockMap | undefined;
      const parentManifest = parent?.manifests.find((m) => m.kind === 'disk');
      if (parentManifest && opts.changedRanges) parentMap = await readDiskManifest(vault, parentManifest.id);
      const scan = await backupDiskImage(
        vault,
        source,
        sink,
        parentMap,
        parent?.changeToken,
        opts.changedRanges,
        opts.onProgress,
      );
      await sink.finish(); // packs, then the index
      markIndexExact(vault); // the refreshed view plus this sink's blocks, all named by index blobs now
      manifest = { id: await writeDiskManifest(vault, scan.map), kind: 'disk' };
      bytesRead = scan.bytesRead;
      sourceBytes = scan.map.diskSize;
      const map = scan.map;
      forEachRef = (visit) => {
        for (let b = 0; b < map.kinds.length; b += 1)
          if (map.kinds[b] === EXTENT_KIND.DATA) visit(blockIdAt(map, b));
      };
      changeToken = scan.changeToken;
    } else {
      const scan = await backupDirectoryTree(vault, source, sink, opts.onProgress);
      await sink.finish();
      markIndexExact(vault);
      manifest = { id: await writeTreeManifest(vault, scan.root), kind: 'tree' };
      bytesRead = scan.bytesRead;
      sourceBytes = scan.sourceBytes;
      skipped = scan.skipped;
      const root = scan.root;
      forEachRef = (visit) => forEachTreeBlock(root, (hexId) => visit(Buffer.from(hexId, 'hex')));
    }
  } catch (err) {
    await sink.abort().catch(() => undefined);
    throw err;
  }
  const s = sink.stats;
  const point: RecoveryPoint = {
    v: 1,
    id: newPointId(now()),
    parentId: parent?.id ?? null,
    time: now().toISOString(),
    source: { kind: source.kind, name: source.name ?? path.basename(source.path) },
    manifests: [manifest],
    totals: {
      bytesRead,
      bytesNewStored: s.bytesNewStored,
      blocksNew: s.blocksNew,
      blocksDedup: s.blocksDedup,
      blocksZero: s.blocksZero,
      sourceBytes,
    },
    ...(changeToken === undefined ? {} : { changeToken }),
  };
  await commitPoint(vault, point, {
    forEachRef,
    ownPacks: sink.ownPacks,
    adoptedPacks: new Map(refreshed.adopted.map((p) => [p.packId, p.createdMs])),
    startedMs,
    nowMs: () => now().getTime(),
    unindexedPackMaxAgeMs: maxAge,
    ...(opts.pointWriteWindowMs === undefined ? {} : { pointWriteWindowMs: opts.pointWriteWindowMs }),
  }); // LAST: only now does the point exist
  return {
    pointId: point.id,
    bytesRead,
    bytesNewStored: s.bytesNewStored,
    blocksNew: s.blocksNew,
    blocksDedup: s.blocksDedup,
    blocksZero: s.blocksZero,
    packsWritten: s.packsWritten,
    indexesWritten: s.indexesWritten,
    skipped,
    packsAdopted: refreshed.adopted.length,
    tornPacks: refreshed.torn,
  };
}
