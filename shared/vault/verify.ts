// verify(): the checker (restic `check`). Re-reads every index blob and every recovery point from
// storage (it does not trust the vault's in-memory state), then checks that every block a point
// references is indexed, that its pack exists and is long enough, and that the pack's trailer and
// header agree with the index. With readData it also downloads packs (all, or a seeded sample) and
// authenticates every referenced block. Expected damage is returned in the report, not thrown.
import { seededRandom } from '../blob/seededRandom';
import { BlockIndex, type IndexEntry } from './blockIndex';
import { BlockOpenError, openBlock } from './blockRecord';
import { PACK_TRAILER_BYTES, SEALED_KIND } from './formatIds';
import { loadIndexes } from './openVault';
import { decodePackHeader, decodePackTrailer } from './packFormat';
import { forEachPointBlock } from './pointReferences';
import { listPointIds, readPoint } from './recoveryPoint';
import { openSealedBlob } from './sealedBlob';
import { VAULT_KEYS, packIdOfKey, type Vault } from './vault';

export interface VerifyOptions {
  /** false (default): structure only. true: read every pack. A number in (0, 1]: that share of packs. */
  readData?: boolean | number;
  /** Seed for the pack sample (readData as a fraction); printed in the report. */
  seed?: number;
}

export interface DamageReport {
  ok: boolean;
  pointsChecked: number;
  blocksReferenced: number;
  packsChecked: number;
  packsRead: number;
  blocksRead: number;
  seed: number;
  /** Referenced by a point but in no readable index. */
  missingBlocks: { blockId: string; pointIds: string[] }[];
  /** Indexed packs that are gone, with the referenced blocks they held. */
  missingPacks: { packId: string; blockIds: string[]; pointIds: string[] }[];
  /** Blocks that fail authentication or lie past the end of their pack. */
  corruptBlocks: { blockId: string; packId: string; reason: string; pointIds: string[] }[];
  /** Packs whose trailer or header is unreadable or disagrees with the index. */
  damagedPacks: { packId: string; reason: string; pointIds: string[] }[];
  unreadableIndexes: { indexId: string; reason: string }[];
  /** Points whose point blob or manifest cannot be read. */
  unreadablePoints: { pointId: string; reason: string }[];
}

interface Ref {
  hexId: string;
  entry: IndexEntry;
}

export async function verify(vault: Vault, opts: VerifyOptions = {}): Promise<DamageReport> {
  const seed = opts.seed ?? Date.now() % 2 ** 31;
  const report: DamageReport = {
    ok: false,
    pointsChecked: 0,
    blocksReferenced: 0,
    packsChecked: 0,
    packsRead: 0,
    blocksRead: 0,
    seed,
    missingBlocks: [],
    missingPacks: [],
    corruptBlocks: [],
    damagedPacks: [],
    unreadableIndexes: [],
    unreadablePoints: [],
  };

  const index = new BlockIndex();
  const loaded = await loadIndexes(vault, index);
  report.unreadableIndexes.push(...loaded.damaged);

  // Which points reference which blocks (hex id → point ids).
  const refs = new Map<string, string[]>();
  for (const pointId of await listPointIds(vault)) {
    try {
      const point = await readPoint(vault, pointId);
      await forEachPointBlock(vault, point, (hexId) => {
        const list = refs.get(hexId);
        if (!list) refs.set(hexId, [pointId]);
        else if (list[list.length - 1] !== pointId) list.push(pointId);
      });
      report.pointsChecked += 1;
    } catch (err) {
      report.unreadablePoints.push({ pointId, reason: (err as Error).message });
    }
  }
  report.blocksReferenced = refs.size;

  const packSizes = new Map<string, number>();
  for await (const { key, size } of vault.store.list(VAULT_KEYS.PACKS_PREFIX)) {
    const packId = packIdOfKey(key);
    if (packId) packSizes.set(packId, size);
  }

  const byPack = new Map<string, Ref[]>();
  const missingPacks = new Map<string, { blockIds: string[]; pointIds: Set<string> }>();
  for (const [hexId, pointIds] of refs) {
    const entry = index.get(Buffer.from(hexId, 'hex'));
    if (!entry) {
      report.missingBlocks.push({ blockId: hexId, pointIds });
      continue;
    }
    const size = packSizes.get(entry.packId);
    if (size === undefined) {
      const m = missingPacks.get(entry.packId) ?? { blockIds: [], pointIds: new Set<string>() };
      m.blockIds.push(hexId);
      for (const p of pointIds) m.pointIds.add(p);
      missingPacks.set(entry.packId, m);
      continue;
    }
    if (entry.offset + entry.length > size - PACK_TRAILER_BYTES) {
      report.corruptBlocks.push({
        blockId: hexId,
        packId: entry.packId,
        reason: 'its pack is truncated',
        pointIds,
      });
      continue;
    }
    const list = byPack.get(entry.packId) ?? [];
    list.push({ hexId, entry });
    byPack.set(entry.packId, list);
  }
  for (const [packId, m] of missingPacks) {
    report.missingPacks.push({ packId, blockIds: m.blockIds, pointIds: [...m.pointIds].sort() });
  }

  const pointsOfPack = (packId: string, list: readonly Ref[]): string[] => {
    const s = new Set<string>();
    for (const r of list) for (const p of refs.get(r.hexId) ?? []) s.add(p);
    for (const c of report.corruptBlocks) if (c.packId === packId) for (const p of c.pointIds) s.add(p);
    return [...s].sort();
  };

  // Structure: each pack with referenced blocks has a readable trailer and header that match the index.
  const referencedPacks = new Set<string>([...byPack.keys(), ...report.corruptBlocks.map((c) => c.packId)]);
  for (const packId of referencedPacks) {
    const size = packSizes.get(packId)!;
    report.packsChecked += 1;
    const reason = await checkPackHeader(vault, packId, size, index);
    if (reason)
      report.damagedPacks.push({ packId, reason, pointIds: pointsOfPack(packId, byPack.get(packId) ?? []) });
  }

  // Data: authenticate every referenced block of the chosen packs.
  const share = opts.readData === true ? 1 : typeof opts.readData === 'number' ? opts.readData : 0;
  if (share > 0) {
    const random = seededRandom(seed);
    for (const [packId, list] of [...byPack.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (share < 1 && random() >= share) continue;
      report.packsRead += 1;
      const { data } = await vault.store.get(VAULT_KEYS.pack(packId));
      const pack = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      for (const { hexId, entry } of list) {
        report.blocksRead += 1;
        const record = pack.subarray(entry.offset, entry.offset + entry.length);
        try {
          if (record.length !== entry.length) throw new BlockOpenError('its pack is truncated');
          openBlock(vault.keys, vault.vaultIdBytes, Buffer.from(hexId, 'hex'), record);
        } catch (err) {
          if (!(err instanceof BlockOpenError)) throw err;
          report.corruptBlocks.push({
            blockId: hexId,
            packId,
            reason: err.message,
            pointIds: refs.get(hexId) ?? [],
          });
        }
      }
    }
  }

  report.ok =
    report.missingBlocks.length === 0 &&
    report.missingPacks.length === 0 &&
    report.corruptBlocks.length === 0 &&
    report.damagedPacks.length === 0 &&
    report.unreadableIndexes.length === 0 &&
    report.unreadablePoints.length === 0;
  return report;
}

/** Reads the trailer and sealed header of a pack; returns why it is damaged, or undefined. */
async function checkPackHeader(
  vault: Vault,
  packId: string,
  size: number,
  index: BlockIndex,
): Promise<string | undefined> {
  const key = VAULT_KEYS.pack(packId);
  try {
    if (size < PACK_TRAILER_BYTES) return 'shorter than a trailer';
    const headerLength = decodePackTrailer(
      await vault.store.getRange(key, size - PACK_TRAILER_BYTES, PACK_TRAILER_BYTES),
    );
    if (headerLength > size - PACK_TRAILER_BYTES) return 'trailer names a header longer than the pack';
    const sealed = await vault.store.getRange(key, size - PACK_TRAILER_BYTES - headerLength, headerLength);
    const entries = decodePackHeader(
      openSealedBlob(vault.keys, vault.vaultIdBytes, SEALED_KIND.PACK_HEADER, packId, sealed),
    );
    for (const e of entries) {
      const indexed = index.get(e.blockId);
      if (
        indexed &&
        indexed.packId === packId &&
        (indexed.offset !== e.offset || indexed.length !== e.length)
      ) {
        return `header and index disagree on block ${e.blockId.toString('hex')}`;
      }
    }
    return undefined;
  } catch (err) {
    if (
      (err as { code?: string }).code?.startsWith('BLOB.') &&
      (err as { code?: string }).code !== 'BLOB.INVALID_RANGE'
    )
      throw err;
    return `trailer or header unreadable: ${(err as Error).message}`;
  }
}
