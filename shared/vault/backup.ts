// backup(): one recovery point of one source. Write order (docs/design.md): blocks into packs →
// index → manifest → recovery point, LAST. If anything fails before the point is written, no point
// exists and the vault is unchanged as far as any reader is concerned (committed packs and indexes
// of the failed run are reused by the next run, or collected by prune later).
import type { BackupSource, ChangedRanges } from './backupSource';
import { backupDirectoryTree, type SkippedEntry } from './backupDirectoryTree';
import { backupDiskImage } from './backupDiskImage';
import { BlockSink, type BlockSinkOptions } from './blockSink';
import type { DiskBlockMap } from './diskManifest';
import { readDiskManifest, writeDiskManifest, writeTreeManifest } from './manifestStore';
import type { ProgressCallback } from './progress';
import { newPointId, readPoint, writePoint, type RecoveryPoint } from './recoveryPoint';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import * as path from 'node:path';

export interface BackupOptions extends BlockSinkOptions {
  /** The previous point of the same source: its change token and block map are reused. */
  parentPointId?: string;
  changedRanges?: ChangedRanges;
  onProgress?: ProgressCallback;
  now?: () => Date;
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
}

export async function backup(
  vault: Vault,
  source: BackupSource,
  opts: BackupOptions = {},
): Promise<BackupResult> {
  const now = opts.now ?? (() => new Date());
  const parent = opts.parentPointId === undefined ? undefined : await readPoint(vault, opts.parentPointId);
  if (parent && parent.source.kind !== source.kind) {
    throw new VaultError(
      VAULT_ERROR_CODES.INVALID_ARGUMENT,
      `parent point ${parent.id} is of a ${parent.source.kind}, not a ${source.kind}`,
    );
  }
  const sink = new BlockSink(vault, opts);
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
      manifest = { id: await writeDiskManifest(vault, scan.map), kind: 'disk' };
      bytesRead = scan.bytesRead;
      sourceBytes = scan.map.diskSize;
      changeToken = scan.changeToken;
    } else {
      const scan = await backupDirectoryTree(vault, source, sink, opts.onProgress);
      await sink.finish();
      manifest = { id: await writeTreeManifest(vault, scan.root), kind: 'tree' };
      bytesRead = scan.bytesRead;
      sourceBytes = scan.sourceBytes;
      skipped = scan.skipped;
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
  await writePoint(vault, point); // LAST: only now does the point exist
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
  };
}
