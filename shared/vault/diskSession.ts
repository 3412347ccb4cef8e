// The session objects of a segmented disk backup (diskSegments.ts), under `sessions/<sessionId>/`:
//   plan          the plan, and a digest of the input it was made from (written first);
//   segment-NNNNNN one segment's block map and result (written after its blocks are indexed);
//   committed     the point id and every segment's result (written after the point; the segment
//                 objects are then deleted).
// Each is sealed (kind DISK_SESSION, name = the key without `sessions/`), written once with
// ifNoneMatch and a `created_ms` metadata stamp, and never modified. They are not references: no
// block is kept alive by a session. Prune deletes a session once its plan is older than
// GC_SAFETY_MARGIN_MS. docs/format.md ("Disk backup sessions") describes the JSON.
import { createHash } from 'node:crypto';
import { BLOB_ERROR_CODES } from '../blob/blobErrors';
import { hasErrorCode } from '../errors';
import { BLOCK_ID_BYTES, EXTENT_KIND, SEALED_KIND } from './formatIds';
import { PACK_CREATED_METADATA } from './packWriter';
import { openSealedBlob, sealBlob, SealedOpenError } from './sealedBlob';
import { VAULT_KEYS, type Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import { isNotFound } from './vaultObjects';
import type { ByteRange } from './backupSource';

export interface DiskBackupSegment {
  index: number;
  /** Block-aligned (except at the end of the disk), sorted, disjoint. */
  ranges: ByteRange[];
  bytes: number;
}

/** Plain JSON: crosses the Durable boundary. Ranges, never block ids. */
export interface DiskBackupPlan {
  /** Given by the caller (e.g. job id + disk); the same planId is the same session. */
  planId: string;
  diskName: string;
  sizeBytes: number;
  parentPointId?: string;
  /** True when no block is taken from the parent's map (every block is read, or unwritten). */
  full: boolean;
  segments: DiskBackupSegment[];
  /** When the plan was made (ISO-8601): the recovery point's time, and the session's age for prune. */
  createdAt?: string;
  /** The vault's block size when planned; a plan is refused by a vault with another. */
  blockSizeBytes?: number;
}

export interface SegmentResult {
  bytesRead: number;
  bytesNewStored: number;
  blocksNew: number;
  blocksDedup: number;
  blocksZero: number;
}

export interface SegmentMap {
  /** EXTENT_KIND (DATA or ZERO) of each block of the segment's ranges, in order. */
  kinds: Uint8Array;
  /** 32 bytes per DATA block, in order. */
  ids: Buffer;
}

export interface SavedSegment {
  fingerprint: string;
  index: number;
  result: SegmentResult;
  /** Packs the segment's run wrote (protected by prune's age margin until the point exists). */
  packs: { id: string; createdMs: number }[];
  map: SegmentMap;
}

export interface SavedPlan {
  /** Digest of the planDiskBackup input (planInputDigest). */
  input: string;
  plan: DiskBackupPlan;
}

export interface SavedCommit {
  fingerprint: string;
  pointId: string;
  segments: SegmentResult[];
}

/** `sessions/<id>/`: 16 bytes of a keyed hash of the plan id (the id itself is not stored in a key). */
export function sessionIdOf(vault: Vault, planId: string): string {
  return vault.keys.nameFor('disk-session', planId);
}

/**
 * A digest of everything in a plan, in a fixed order: segments and commits refuse a plan that is not
 * the one their session was made for.
 */
export function planFingerprint(plan: DiskBackupPlan): string {
  const canonical = [
    'strongbox/v1/disk-plan',
    plan.planId,
    plan.diskName,
    plan.sizeBytes,
    plan.parentPointId ?? null,
    plan.full,
    plan.createdAt ?? null,
    plan.blockSizeBytes ?? null,
    plan.segments.map((s) => [s.index, s.bytes, s.ranges.map((r) => [r.offset, r.length])]),
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

// ---- stored JSON -------------------------------------------------------------------------------

interface PlanJson {
  v: 1;
  type: 'plan';
  input: string;
  plan: DiskBackupPlan;
}

interface SegmentJson {
  v: 1;
  type: 'segment';
  plan: string;
  index: number;
  result: SegmentResult;
  packs: { id: string; createdMs: number }[];
  /** base64: one EXTENT_KIND byte per block of the segment. */
  kinds: string;
  /** base64: 32 bytes per DATA block. */
  ids: string;
}

interface CommittedJson {
  v: 1;
  type: 'committed';
  plan: string;
  pointId: string;
  segments: SegmentResult[];
}

type SessionJson = PlanJson | SegmentJson | CommittedJson;

function nameOfKey(key: string): string {
  return key.slice(VAULT_KEYS.SESSIONS_PREFIX.length);
}

/** Writes a session object once. Returns false if it already exists (someone else wrote it). */
async function putSessionObject(
  vault: Vault,
  key: string,
  json: SessionJson,
  nowMs: number,
): Promise<boolean> {
  const sealed = sealBlob(
    vault.keys,
    vault.vaultIdBytes,
    SEALED_KIND.DISK_SESSION,
    nameOfKey(key),
    Buffer.from(JSON.stringify(json), 'utf8'),
    vault.compression,
  );
  try {
    await vault.store.put(key, sealed, {
      ifNoneMatch: '*',
      metadata: { [PACK_CREATED_METADATA]: String(Math.floor(nowMs)) },
    });
    return true;
  } catch (err) {
    if (hasErrorCode(err, BLOB_ERROR_CODES.ALREADY_EXISTS)) return false;
    throw err;
  }
}

/** Reads and opens a session object; undefined if absent; METADATA_CORRUPT if unreadable. */
async function getSessionObject(
  vault: Vault,
  key: string,
  type: SessionJson['type'],
): Promise<SessionJson | undefined> {
  let data: Uint8Array;
  try {
    ({ data } = await vault.store.get(key));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  let json: SessionJson;
  try {
    const plain = openSealedBlob(
      vault.keys,
      vault.vaultIdBytes,
      SEALED_KIND.DISK_SESSION,
      nameOfKey(key),
      data,
    );
    json = JSON.parse(plain.toString('utf8')) as SessionJson;
  } catch (err) {
    const reason = err instanceof SealedOpenError || err instanceof SyntaxError ? err.message : String(err);
    throw new VaultError(VAULT_ERROR_CODES.METADATA_CORRUPT, `${key}: ${reason}`, { key }, { cause: err });
  }
  if (typeof json !== 'object' || json === null || json.v !== 1 || json.type !== type)
    throw new VaultError(VAULT_ERROR_CODES.METADATA_CORRUPT, `${key}: not a session ${type} object`, { key });
  return json;
}

export async function writeSavedPlan(
  vault: Vault,
  sessionId: string,
  saved: SavedPlan,
  nowMs: number,
): Promise<boolean> {
  return putSessionObject(vault, VAULT_KEYS.sessionPlan(sessionId), { v: 1, type: 'plan', ...saved }, nowMs);
}

export async function readSavedPlan(vault: Vault, sessionId: string): Promise<SavedPlan | undefined> {
  const json = (await getSessionObject(vault, VAULT_KEYS.sessionPlan(sessionId), 'plan')) as
    PlanJson | undefined;
  return json && { input: json.input, plan: json.plan };
}

export async function writeSavedSegment(
  vault: Vault,
  sessionId: string,
  saved: SavedSegment,
  nowMs: number,
): Promise<boolean> {
  const json: SegmentJson = {
    v: 1,
    type: 'segment',
    plan: saved.fingerprint,
    index: saved.index,
    result: saved.result,
    packs: saved.packs,
    kinds: Buffer.from(
      saved.map.kinds.buffer,
      saved.map.kinds.byteOffset,
      saved.map.kinds.byteLength,
    ).toString('base64'),
    ids: saved.map.ids.toString('base64'),
  };
  return putSessionObject(vault, VAULT_KEYS.sessionSegment(sessionId, saved.index), json, nowMs);
}

/** A saved segment, checked against the number of blocks its ranges hold; undefined if absent. */
export async function readSavedSegment(
  vault: Vault,
  sessionId: string,
  index: number,
  blocks: number,
): Promise<SavedSegment | undefined> {
  const key = VAULT_KEYS.sessionSegment(sessionId, index);
  const json = (await getSessionObject(vault, key, 'segment')) as SegmentJson | undefined;
  if (!json) return undefined;
  const kinds = new Uint8Array(Buffer.from(json.kinds, 'base64'));
  const ids = Buffer.from(json.ids, 'base64');
  let data = 0;
  let badKind = false;
  for (const k of kinds) {
    if (k === EXTENT_KIND.DATA) data += 1;
    else if (k !== EXTENT_KIND.ZERO) badKind = true;
  }
  if (badKind || json.index !== index || kinds.length !== blocks || ids.length !== data * BLOCK_ID_BYTES) {
    throw new VaultError(
      VAULT_ERROR_CODES.METADATA_CORRUPT,
      `${key}: the block map does not match the segment (${kinds.length} blocks, expected ${blocks})`,
      { key },
    );
  }
  return { fingerprint: json.plan, index, result: json.result, packs: json.packs, map: { kinds, ids } };
}

export async function writeSavedCommit(
  vault: Vault,
  sessionId: string,
  saved: SavedCommit,
  nowMs: number,
): Promise<boolean> {
  return putSessionObject(
    vault,
    VAULT_KEYS.sessionCommitted(sessionId),
    { v: 1, type: 'committed', plan: saved.fingerprint, pointId: saved.pointId, segments: saved.segments },
    nowMs,
  );
}

export async function readSavedCommit(vault: Vault, sessionId: string): Promise<SavedCommit | undefined> {
  const json = (await getSessionObject(vault, VAULT_KEYS.sessionCommitted(sessionId), 'committed')) as
    CommittedJson | undefined;
  return json && { fingerprint: json.plan, pointId: json.pointId, segments: json.segments };
}

/** Deletes the segment objects of a committed session (the plan and the commit record stay for prune). */
export async function deleteSavedSegments(vault: Vault, sessionId: string): Promise<number> {
  let deleted = 0;
  const keys: string[] = [];
  for await (const { key } of vault.store.list(VAULT_KEYS.sessionPrefix(sessionId)))
    if (/\/segment-\d+$/.test(key)) keys.push(key);
  for (const key of keys) if ((await vault.store.delete(key)).deleted) deleted += 1;
  return deleted;
}
