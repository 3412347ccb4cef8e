// Recovery points: `points/<pointId>`, sealed JSON (kind RECOVERY_POINT, name = point id), written
// LAST by a backup, after every pack, index and manifest it depends on.
//   {"v":1,"id","parentId":string|null,"time":ISO-8601,"source":{"kind","name","sizeBytes"?},
//    "manifests":[{"id","kind":"disk"|"tree"}],"totals":{…},"changeToken"?:string,
//    "planId"?:string,"meta"?:{string:string}}
import { SEALED_KIND } from './formatIds';
import { randomHexId } from './hex';
import { VAULT_KEYS, type Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import { isNotFound, readSealedObject, writeSealedObject } from './vaultObjects';

/**
 * 'diskImage': a disk image file (backup()); 'directoryTree': files and folders (backup());
 * 'disk': a disk read through a DiskReader in segments (diskSegments.ts), e.g. a VM disk snapshot.
 */
export type SourceKind = 'diskImage' | 'directoryTree' | 'disk';

export interface PointTotals {
  bytesRead: number;
  bytesNewStored: number;
  blocksNew: number;
  blocksDedup: number;
  blocksZero: number;
  /** Source bytes the point describes (disk size, or the sum of file sizes). */
  sourceBytes: number;
}

export interface RecoveryPoint {
  v: 1;
  id: string;
  parentId: string | null;
  time: string;
  /** `sizeBytes`: kind 'disk' only (the disk's size; a file's size is in its manifest). */
  source: { kind: SourceKind; name: string; sizeBytes?: number };
  manifests: { id: string; kind: 'disk' | 'tree' }[];
  totals: PointTotals;
  /** The ChangedRanges token to pass next time (page blobs, later). */
  changeToken?: string;
  /** Kind 'disk': the caller's plan id (diskSegments.ts); the point id is derived from it. */
  planId?: string;
  /** Kind 'disk': caller-supplied labels (commitDiskBackup's `meta`). */
  meta?: Record<string, string>;
}

const POINT_ID_RE = /^[0-9a-z-]{1,64}$/;

export async function writePoint(vault: Vault, point: RecoveryPoint): Promise<void> {
  await writeSealedObject(
    vault,
    SEALED_KIND.RECOVERY_POINT,
    VAULT_KEYS.point,
    Buffer.from(JSON.stringify(point), 'utf8'),
    point.id,
  );
}

export async function readPoint(vault: Vault, pointId: string): Promise<RecoveryPoint> {
  if (!POINT_ID_RE.test(pointId))
    throw new VaultError(VAULT_ERROR_CODES.POINT_NOT_FOUND, `no recovery point ${pointId}`);
  let plain: Buffer;
  try {
    plain = await readSealedObject(vault, SEALED_KIND.RECOVERY_POINT, VAULT_KEYS.point(pointId), pointId);
  } catch (err) {
    if (isNotFound(err))
      throw new VaultError(VAULT_ERROR_CODES.POINT_NOT_FOUND, `no recovery point ${pointId}`);
    throw err;
  }
  const point = JSON.parse(plain.toString('utf8')) as RecoveryPoint;
  if (point.v !== 1 || point.id !== pointId || !Array.isArray(point.manifests)) {
    throw new VaultError(VAULT_ERROR_CODES.METADATA_CORRUPT, `recovery point ${pointId} is malformed`, {
      key: VAULT_KEYS.point(pointId),
    });
  }
  return point;
}

export async function listPointIds(vault: Vault): Promise<string[]> {
  const ids: string[] = [];
  for await (const { key } of vault.store.list(VAULT_KEYS.POINTS_PREFIX))
    ids.push(key.slice(VAULT_KEYS.POINTS_PREFIX.length));
  return ids;
}

/** Point ids sort by time: a 13-digit millisecond timestamp, then 12 random hex digits. */
export function newPointId(now: Date): string {
  const ms = String(now.getTime()).padStart(13, '0');
  return `${ms}-${randomHexId(6)}`;
}
