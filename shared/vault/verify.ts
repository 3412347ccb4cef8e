// verify(): the checker (restic `check`). Re-reads every index blob and every recovery point from
// storage (it does not trust the vault's in-memory state), then checks that every block a point
// references is indexed, that its pack exists and is long enough, and that the pack's trailer and
// header agree with the index. With readData it also downloads packs (all, or a seeded sample) and
// authenticates every referenced block. Expected damage is returned in the report, not thrown.
// Self-healing (reliability.md row 10): with `quarantine: true` every broken copy found (corrupt,
// truncated, or in a missing pack) is recorded under `quarantine/` (quarantine.ts), so the next
// backup stores a healthy copy; a referenced block whose broken copy has a healthy one is "healed".
import { seededRandom } from '../blob/seededRandom';
import { BlockIndex, type IndexEntry } from './blockIndex';
import { BlockOpenError, openBlock } from './blockRecord';
import { PACK_TRAILER_BYTES, SEALED_KIND } from './formatIds';
import { loadIndexes } from './openVault';
import { loadQuarantine, QUARANTINE_REASON, writeQuarantine, type QuarantineReason } from './quarantine';
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
  /**
   * Record every broken copy found in `quarantine/` (conditional create: idempotent). Default false:
   * verify then writes nothing.
   */
  quarantine?: boolean;
  /** Clock for the records' `atMs` (tests). */
  nowMs?: () => number;
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
  /**
   * Referenced blocks with a quarantined (broken) copy and a healthy one, which reads and this check
   * used: not damage. Absent in reports of older versions.
   */
  healedBlocks?: { blockId: string; packId: string; quarantinedPackIds: string[]; pointIds: string[] }[];
  /** Quarantine records this run wrote (with `quarantine: true`; already quarantined copies not counted). */
  quarantined?: number;
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
    healedBlocks: [],
    quarantined: 0,
  };

  // From storage, like the rest: a healthy copy wins over a quarantined one (blockIndex.ts), so the
  // blocks checked below are the ones reads use.
  const quarantine = await loadQuarantine(vault);
  const index = new BlockIndex();
  const loaded = await loadIndexes(vault, index, undefined, quarantine);
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
    if (!entry.quarantined && quarantine.hasBlock(hexId)) {
      report.healedBlocks!.push({
        blockId: hexId,
        packId: entry.packId,
        quarantinedPackIds: quarantine.packsOf(hexId),
        pointIds,
      });
    }
    const size = packSizes.get(entry.packId);
    if (size === undefined) {
      const m = missingPacks.get(entry.packId) ?? { blockIds: [], pointIds: new Set<string>() };
      m.blockIds.push(hexId);
      for (const p of pointIds) m.pointIds.add(p);
      missingPacks.set(entry.packId, m);
      continue;
    }
    if (entry.quarantined) {
      // The only copy is known to be broken: damage until a backup stores a healthy one, whether or
      // not this run reads it (a structure-only check cannot tell).
      report.corruptBlocks.push({
        blockId: hexId,
        packId: entry.packId,
        reason: 'quarantined, and no healthy copy is indexed',
        pointIds,
      });
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

  if (opts.quarantine) report.quarantined = await quarantineBroken(vault, report, opts.nowMs ?? Date.now);

  report.ok =
    report.missingBlocks.length === 0 &&
    report.missingPacks.length === 0 &&
    report.corruptBlocks.length === 0 &&
    report.damagedPacks.length === 0 &&
    report.unreadableIndexes.length === 0 &&
    report.unreadablePoints.length === 0;
  return report;
}

/**
 * Writes a quarantine record for every broken copy in the report: corrupt or truncated records and
 * the blocks of missing packs. Blocks in no index have no copy to avoid (a backup already stores
 * them again); damaged pack headers say nothing about the records themselves.
 */
async function quarantineBroken(vault: Vault, report: DamageReport, nowMs: () => number): Promise<number> {
  const broken: { blockId: string; packId: string; reason: QuarantineReason; detail: string }[] = [];
  for (const c of report.corruptBlocks) {
    const reason =
      c.reason === 'its pack is truncated' ? QUARANTINE_REASON.TRUNCATED : QUARANTINE_REASON.CORRUPT;
    broken.push({ blockId: c.blockId, packId: c.packId, reason, detail: c.reason });
  }
  for (const m of report.missingPacks)
    for (const blockId of m.blockIds)
      broken.push({
        blockId,
        packId: m.packId,
        reason: QUARANTINE_REASON.PACK_MISSING,
        detail: 'its pack is missing',
      });
  let written = 0;
  for (const b of broken) {
    if (await writeQuarantine(vault, { v: 1, ...b, atMs: nowMs() })) written += 1;
  }
  return written;
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
