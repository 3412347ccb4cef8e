// Reads a pack alone: trailer → sealed header → entries (docs/format.md, "Packs"). Used to rebuild
// index entries for packs no index names (a crashed backup's packs) and by prune. A pack that does
// not parse (torn by a crash mid-upload on a store without atomic commit, truncated, tampered) is
// reported with the reason and never indexed.
import type { BlobStat } from '../blob/blobStore';
import { PACK_TRAILER_BYTES, SEALED_KIND } from './formatIds';
import { decodePackHeader, decodePackTrailer, type PackEntry } from './packFormat';
import { PACK_CREATED_METADATA } from './packWriter';
import { openSealedBlob } from './sealedBlob';
import { VAULT_KEYS, type Vault } from './vault';

export class PackUnreadableError extends Error {}

/** The entries of a pack, checked against its size: every record lies before the header. */
export async function readPackHeader(vault: Vault, packId: string, size: number): Promise<PackEntry[]> {
  const key = VAULT_KEYS.pack(packId);
  try {
    if (size < PACK_TRAILER_BYTES) throw new PackUnreadableError('shorter than a trailer');
    const headerLength = decodePackTrailer(
      await vault.store.getRange(key, size - PACK_TRAILER_BYTES, PACK_TRAILER_BYTES),
    );
    const headerStart = size - PACK_TRAILER_BYTES - headerLength;
    if (headerStart < 0) throw new PackUnreadableError('trailer names a header longer than the pack');
    const sealed = await vault.store.getRange(key, headerStart, headerLength);
    const entries = decodePackHeader(
      openSealedBlob(vault.keys, vault.vaultIdBytes, SEALED_KIND.PACK_HEADER, packId, sealed),
    );
    for (const e of entries) {
      if (e.offset + e.length > headerStart)
        throw new PackUnreadableError(`entry ${e.blockId.toString('hex')} lies past the records`);
    }
    return entries;
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Storage errors other than a bad range are not the pack's fault: let the caller retry.
    if (code?.startsWith('BLOB.') && code !== 'BLOB.INVALID_RANGE') throw err;
    if (err instanceof PackUnreadableError) throw err;
    throw new PackUnreadableError((err as Error).message);
  }
}

/**
 * A pack's creation time from its metadata. Packs without the stamp (none are written by this
 * version) count as created at the epoch, i.e. old: prune may collect them once unreferenced.
 */
export function packCreatedMs(stat: Pick<BlobStat, 'metadata'> | undefined): number {
  const raw = stat?.metadata[PACK_CREATED_METADATA];
  const ms = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(ms) ? ms : 0;
}
