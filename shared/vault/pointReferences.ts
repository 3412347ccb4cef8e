// Which recovery points reference which blocks: for verify's damage report, and to name the
// affected points in a restore error.
import { BLOCK_ID_BYTES, EXTENT_KIND } from './formatIds';
import { readDiskManifest, readTreeManifest } from './manifestStore';
import { listPointIds, readPoint, type RecoveryPoint } from './recoveryPoint';
import { forEachTreeBlock } from './treeManifest';
import type { Vault } from './vault';

/** Calls `visit` with each block id (hex) of a point; the same id may come more than once. */
export async function forEachPointBlock(
  vault: Vault,
  point: RecoveryPoint,
  visit: (hexId: string) => void,
): Promise<void> {
  for (const m of point.manifests) {
    if (m.kind === 'disk') {
      const map = await readDiskManifest(vault, m.id);
      for (let b = 0; b < map.kinds.length; b += 1) {
        if (map.kinds[b] === EXTENT_KIND.DATA)
          visit(map.ids.toString('hex', b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES));
      }
    } else {
      forEachTreeBlock((await readTreeManifest(vault, m.id)).root, visit);
    }
  }
}

/** Ids of the points that reference `hexId`. Best effort: unreadable points are skipped. */
export async function pointsReferencing(vault: Vault, hexId: string): Promise<string[]> {
  const found: string[] = [];
  for (const pointId of await listPointIds(vault)) {
    try {
      let hit = false;
      await forEachPointBlock(vault, await readPoint(vault, pointId), (h) => {
        if (h === hexId) hit = true;
      });
      if (hit) found.push(pointId);
    } catch {
      // an unreadable point is verify's to report; here we only name what we can
    }
  }
  return found;
}
