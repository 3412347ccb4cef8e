// Quarantine records (reliability.md row 10, self-healing): one small sealed object per broken copy
// of a block, `quarantine/<packId>/<blockId>` (docs/format.md, "Quarantine"). A copy is a
// (block id, pack id) pair, not a block id: blocks are content-addressed, so a later backup that
// meets the same plaintext stores a second, healthy copy of the same id in another pack, and only the
// broken one must be avoided. Verify writes them (`verify(…, {quarantine: true})`); openVault and
// refreshIndex load them so that backups do not deduplicate against a broken copy and reads prefer a
// healthy one; prune drops a record once the pack holding the broken copy is gone.
import { SEALED_KIND } from './formatIds';
import { BLOB_ERROR_CODES } from '../blob/blobErrors';
import { hasErrorCode } from '../errors';
import { VAULT_KEYS, type Vault } from './vault';
import { isNotFound, readSealedObject, writeSealedObject } from './vaultObjects';
import { VAULT_ERROR_CODES } from './vaultErrors';

/** Why a copy was quarantined. Frozen strings (they are stored). */
export const QUARANTINE_REASON = {
  /** The record failed authentication, decoding or the id re-check. */
  CORRUPT: 'corrupt',
  /** The record lies past the end of its pack. */
  TRUNCATED: 'truncated',
  /** The pack the index names does not exist. */
  PACK_MISSING: 'pack-missing',
} as const;
export type QuarantineReason = (typeof QUARANTINE_REASON)[keyof typeof QUARANTINE_REASON];

/** The JSON inside a quarantine object (version 1). */
export interface QuarantineRecord {
  v: 1;
  blockId: string;
  packId: string;
  reason: QuarantineReason;
  /** The writer's clock when the damage was found, ms since the epoch. */
  atMs: number;
  /** Free text from the checker (the authentication error, …), for people; never interpreted. */
  detail?: string;
}

export interface QuarantinedCopy {
  blockId: string;
  packId: string;
}

/** Quarantined copies, by block id (hex) → pack ids. Small: one entry per damaged record found. */
export class QuarantineSet {
  private readonly byBlock = new Map<string, Set<string>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Returns false if the copy was already in the set. */
  add(blockId: string, packId: string): boolean {
    let packs = this.byBlock.get(blockId);
    if (!packs) this.byBlock.set(blockId, (packs = new Set()));
    if (packs.has(packId)) return false;
    packs.add(packId);
    this.count += 1;
    return true;
  }

  has(blockId: string, packId: string): boolean {
    return this.byBlock.get(blockId)?.has(packId) ?? false;
  }

  /** Whether any copy of this block is quarantined. */
  hasBlock(blockId: string): boolean {
    return this.byBlock.has(blockId);
  }

  /** The packs holding quarantined copies of this block. */
  packsOf(blockId: string): string[] {
    return [...(this.byBlock.get(blockId) ?? [])].sort();
  }

  *copies(): IterableIterator<QuarantinedCopy> {
    for (const [blockId, packs] of this.byBlock) for (const packId of packs) yield { blockId, packId };
  }

  /** Whether every copy of `other` is in this set. */
  containsAll(other: QuarantineSet): boolean {
    for (const c of other.copies()) if (!this.has(c.blockId, c.packId)) return false;
    return true;
  }

  /** Replaces this set's contents with `other`'s. */
  replaceWith(other: QuarantineSet): void {
    this.byBlock.clear();
    this.count = 0;
    for (const c of other.copies()) this.add(c.blockId, c.packId);
  }
}

/** A record is a few hundred bytes; a hostile one must not make us decode more. */
const MAX_RECORD_BYTES = 64 * 1024;

const KEY_PATTERN = /^quarantine\/([0-9a-f]{32})\/([0-9a-f]{64})$/;

/** The copy a `quarantine/<packId>/<blockId>` key names, or undefined for anything else. */
export function copyOfQuarantineKey(key: string): QuarantinedCopy | undefined {
  const m = KEY_PATTERN.exec(key);
  return m ? { packId: m[1]!, blockId: m[2]! } : undefined;
}

/** The sealed blob's name (bound into its associated data): the key without `quarantine/`. */
function sealedName(copy: QuarantinedCopy): string {
  return `${copy.packId}/${copy.blockId}`;
}

/**
 * Records a broken copy. Conditional create (`ifNoneMatch: '*'`): a copy already quarantined keeps
 * its first record, so re-runs are idempotent. Returns whether this call wrote it.
 */
export async function writeQuarantine(vault: Vault, record: QuarantineRecord): Promise<boolean> {
  const plain = Buffer.from(JSON.stringify(record), 'utf8');
  try {
    const key = VAULT_KEYS.quarantine(record.packId, record.blockId);
    await writeSealedObject(vault, SEALED_KIND.QUARANTINE, () => key, plain, sealedName(record));
    return true;
  } catch (err) {
    if (hasErrorCode(err, BLOB_ERROR_CODES.ALREADY_EXISTS)) return false;
    throw err;
  }
}

/**
 * Lists `quarantine/` and authenticates every record. A record that does not open, or whose body
 * names another copy than its key, is ignored: storage cannot forge one (it is sealed under encKey
 * and bound to its name), and ignoring it only means the copy is used as before.
 */
export async function loadQuarantine(vault: Vault): Promise<QuarantineSet> {
  const set = new QuarantineSet();
  for await (const { key } of vault.store.list(VAULT_KEYS.QUARANTINE_PREFIX)) {
    const copy = copyOfQuarantineKey(key);
    if (!copy) continue;
    const record = await readQuarantine(vault, copy);
    if (record) set.add(record.blockId, record.packId);
  }
  return set;
}

/** One record, or undefined if it is gone or does not authenticate. */
export async function readQuarantine(
  vault: Vault,
  copy: QuarantinedCopy,
): Promise<QuarantineRecord | undefined> {
  let plain: Buffer;
  try {
    plain = await readSealedObject(
      vault,
      SEALED_KIND.QUARANTINE,
      VAULT_KEYS.quarantine(copy.packId, copy.blockId),
      sealedName(copy),
      MAX_RECORD_BYTES,
    );
  } catch (err) {
    if (isNotFound(err)) return undefined; // dropped by prune while listing
    if (hasErrorCode(err, VAULT_ERROR_CODES.METADATA_CORRUPT)) return undefined; // does not authenticate
    throw err;
  }
  try {
    const r = JSON.parse(plain.toString('utf8')) as Partial<QuarantineRecord>;
    if (r.v !== 1 || r.blockId !== copy.blockId || r.packId !== copy.packId) return undefined;
    return r as QuarantineRecord;
  } catch {
    return undefined;
  }
}

/** Drops the records of one pack's copies (prune, once the pack is deleted). Returns how many. */
export async function dropQuarantineOfPack(vault: Vault, packId: string): Promise<number> {
  let dropped = 0;
  for await (const { key } of vault.store.list(VAULT_KEYS.quarantinePackPrefix(packId))) {
    if ((await vault.store.delete(key)).deleted) dropped += 1;
  }
  return dropped;
}
