// restore(): a disk point to a file, or a tree point (or one item of it) into a directory. Read
// order is the reverse of the write order: point → manifest → index (in memory) → packs.
import { readDiskManifest, readTreeManifest } from './manifestStore';
import type { ProgressCallback } from './progress';
import { readPoint } from './recoveryPoint';
import { restoreDirectoryTree, type RefusedEntry } from './restoreDirectoryTree';
import { restoreDiskImage } from './restoreDiskImage';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';

export interface RestoreOptions {
  /** Tree points only: a '/'-separated path inside the point; restored under the target by its own name. */
  item?: string;
  onProgress?: ProgressCallback;
}

export interface RestoreResult {
  bytesWritten: number;
  files: number;
  dirs: number;
  symlinks: number;
  /** Entries not restored because their names or their place were unsafe. */
  refused: RefusedEntry[];
}

/**
 * `target` is the file to create for a disk point, or the directory to restore into for a tree point.
 * Every block is verified; a bad one fails the restore with VAULT.BLOCK_CORRUPT (or BLOCK_MISSING).
 */
export async function restore(
  vault: Vault,
  pointId: string,
  target: string,
  opts: RestoreOptions = {},
): Promise<RestoreResult> {
  const point = await readPoint(vault, pointId);
  const manifest = point.manifests[0];
  if (!manifest) throw new VaultError(VAULT_ERROR_CODES.METADATA_CORRUPT, `point ${pointId} has no manifest`);
  if (manifest.kind === 'disk') {
    if (opts.item !== undefined)
      throw new VaultError(VAULT_ERROR_CODES.INVALID_ARGUMENT, 'item-level restore needs a tree point');
    const map = await readDiskManifest(vault, manifest.id);
    const { bytesWritten } = await restoreDiskImage(vault, map, target, opts.onProgress);
    return { bytesWritten, files: 1, dirs: 0, symlinks: 0, refused: [] };
  }
  const tree = await readTreeManifest(vault, manifest.id);
  return restoreDirectoryTree(vault, tree.root, target, opts.item, opts.onProgress);
}
