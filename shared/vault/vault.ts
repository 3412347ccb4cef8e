// An open vault: its store, config, keys and in-memory block index. Object names (blob keys) of
// format 1 are defined here and nowhere else.
import type { BlobStore } from '../blob/blobStore';
import type { CompressionMode } from './blockCodec';
import type { BlockIndex } from './blockIndex';
import type { QuarantineSet } from './quarantine';
import type { VaultConfig } from './vaultConfig';
import type { VaultKeys } from './vaultKeys';

export interface DamagedIndex {
  indexId: string;
  reason: string;
}

export interface Vault {
  readonly store: BlobStore;
  readonly config: VaultConfig;
  /** The vault id as 16 bytes (part of every associated-data string). */
  readonly vaultIdBytes: Buffer;
  readonly keys: VaultKeys;
  /** Every block of every readable index blob, plus blocks committed by this process since. */
  readonly index: BlockIndex;
  /** Index blobs loaded or written by this process. */
  readonly indexIds: Set<string>;
  /** Index blobs that could not be read at open (verify reports them too). */
  readonly damagedIndexes: readonly DamagedIndex[];
  /**
   * The quarantined copies `index` was built with (quarantine.ts): their entries are kept only as a
   * last resort for reads and never deduplicated against.
   */
  readonly quarantine: QuarantineSet;
  readonly compression: CompressionMode;
}

/** Blob keys of format 1 (docs/format.md, "Layout"). */
export const VAULT_KEYS = {
  CONFIG: 'config',
  keyBlob: (keyId: string): string => `keys/${keyId}`,
  PACKS_PREFIX: 'packs/',
  pack: (packId: string): string => `packs/${packId.slice(0, 2)}/${packId}`,
  INDEX_PREFIX: 'index/',
  index: (indexId: string): string => `index/${indexId}`,
  manifest: (manifestId: string): string => `manifests/${manifestId}`,
  POINTS_PREFIX: 'points/',
  point: (pointId: string): string => `points/${pointId}`,
  SESSIONS_PREFIX: 'sessions/',
  /** Every object of one segmented disk backup session (docs/format.md, "Disk backup sessions"). */
  sessionPrefix: (sessionId: string): string => `sessions/${sessionId}/`,
  sessionPlan: (sessionId: string): string => `sessions/${sessionId}/plan`,
  sessionSegment: (sessionId: string, index: number): string =>
    `sessions/${sessionId}/segment-${String(index).padStart(6, '0')}`,
  sessionCommitted: (sessionId: string): string => `sessions/${sessionId}/committed`,
  QUARANTINE_PREFIX: 'quarantine/',
  /** One broken copy of a block (docs/format.md, "Quarantine"). */
  quarantine: (packId: string, blockId: string): string => `quarantine/${packId}/${blockId}`,
  quarantinePackPrefix: (packId: string): string => `quarantine/${packId}/`,
} as const;

/** The session id of a `sessions/<id>/…` key, or undefined for anything else. */
export function sessionIdOfKey(key: string): string | undefined {
  return /^sessions\/([0-9a-f]{32})\/[a-z0-9-]+$/.exec(key)?.[1];
}

/** The pack id of a `packs/xx/<id>` key, or undefined for anything else. */
export function packIdOfKey(key: string): string | undefined {
  const m = /^packs\/([0-9a-f]{2})\/([0-9a-f]{32})$/.exec(key);
  return m && m[2]!.startsWith(m[1]!) ? m[2] : undefined;
}
