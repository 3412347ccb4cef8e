// Copying imported data into a server's vault container. The staged data is a whole vault in the
// vault format (docs/format.md); the datacenter wrote it under `<job>/` in the import container. The
// service cannot decrypt it (the server's passphrase never leaves the server), so it copies objects by
// name, in the vault's write order, and never overwrites:
//
//   phase 0  config, keys/       the server's vault already has these (register created them): equal
//                                bytes are skipped, different bytes are OFFLINE.VAULT_MISMATCH
//   phase 1  packs/00/ … ff/     16 units of 16 prefixes, copied in parallel
//   phase 2  index/              only after every pack is in (a pack is committed before an index names it)
//   phase 3  manifests/
//   phase 4  points/             last: a point becomes visible only when all it references is stored
//
// Each unit is idempotent and resumable: an object already in the vault with the same size (names are
// 128-bit random ids, so a name is one object) is skipped, a missing one is streamed with
// `ifNoneMatch: '*'` and committed atomically, so a crash mid-copy leaves nothing half-written and a
// re-run copies only what is missing. Nothing is ever written twice, so no block is stored twice.
import { BLOB_ERROR_CODES } from '../blob/blobErrors';
import type { BlobStore } from '../blob/blobStore';
import { hasErrorCode } from '../errors';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';

/** Bytes per ranged read/streamed write while copying (Azure Put Block: 4 MiB is the adapter's default). */
export const COPY_CHUNK_BYTES = 4 * 1024 * 1024;
const HEX = '0123456789abcdef';

/** One activity's share of a phase: prefixes of vault keys ('config' is the exact key). */
export type CopyUnit = readonly string[];

function packUnits(): CopyUnit[] {
  const units: CopyUnit[] = [];
  for (const hi of HEX) units.push([...HEX].map((lo) => `packs/${hi}${lo}/`));
  return units;
}

/** The copy plan: phases in write order; the units of one phase may run in parallel. Pure. */
export const COPY_PHASES: readonly (readonly CopyUnit[])[] = Object.freeze([
  [['config', 'keys/']],
  packUnits(),
  [['index/']],
  [['manifests/']],
  [['points/']],
]);

/** Keys compared byte for byte when already present (small, and not named by a random id). */
function compareBytes(key: string): boolean {
  return key === 'config' || key.startsWith('keys/');
}

export interface CopyResult {
  objectsCopied: number;
  objectsSkipped: number;
  bytesCopied: number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

async function copyOne(
  src: BlobStore,
  srcKey: string,
  size: number,
  dst: BlobStore,
  key: string,
): Promise<void> {
  const w = await dst.openWriter(key, { ifNoneMatch: '*' });
  try {
    for (let off = 0; off < size; off += COPY_CHUNK_BYTES) {
      await w.write(await src.getRange(srcKey, off, Math.min(COPY_CHUNK_BYTES, size - off)));
    }
    await w.commit();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

/**
 * Copies every object under `srcPrefix + prefix` (for each prefix of the unit) from `src` to the same key
 * without `srcPrefix` in `dst`, skipping objects already there. Throws OFFLINE.VAULT_MISMATCH if an
 * object already in the vault differs (never overwrites); storage errors propagate (retried by the caller).
 */
export async function copyImportUnit(
  src: BlobStore,
  srcPrefix: string,
  dst: BlobStore,
  unit: CopyUnit,
  onObject?: (key: string, copied: boolean, bytes: number) => void,
): Promise<CopyResult> {
  const result: CopyResult = { objectsCopied: 0, objectsSkipped: 0, bytesCopied: 0 };
  for (const prefix of unit) {
    for await (const entry of src.list(srcPrefix + prefix)) {
      const key = entry.key.slice(srcPrefix.length);
      if (prefix === 'config' && key !== 'config') continue;
      const present = await dst.stat(key);
      const mismatch = (): OfflineError =>
        new OfflineError(
          OFFLINE_ERROR_CODES.VAULT_MISMATCH,
          `imported object ${key} differs from the one already in the server's vault; the staged data ` +
            `is not this server's vault (staging must start from the registered vault)`,
          { files: [key] },
        );
      if (present) {
        if (present.size !== entry.size) throw mismatch();
        if (compareBytes(key) && !sameBytes((await src.get(entry.key)).data, (await dst.get(key)).data)) {
          throw mismatch();
        }
        result.objectsSkipped += 1;
        onObject?.(key, false, 0);
        continue;
      }
      try {
        await copyOne(src, entry.key, entry.size, dst, key);
      } catch (err) {
        // Another attempt of this unit (a re-delivered activity) committed it first: same object.
        if (!hasErrorCode(err, BLOB_ERROR_CODES.ALREADY_EXISTS)) throw err;
        const now = await dst.stat(key);
        if (now?.size !== entry.size) throw mismatch();
        result.objectsSkipped += 1;
        onObject?.(key, false, 0);
        continue;
      }
      result.objectsCopied += 1;
      result.bytesCopied += entry.size;
      onObject?.(key, true, entry.size);
    }
  }
  return result;
}
