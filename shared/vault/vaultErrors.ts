// Error codes of the vault data plane. Branch on `code`: classes do not survive a Durable boundary.
import { StrongboxError, type StrongboxErrorOptions } from '../errors';

export const VAULT_ERROR_CODES = {
  /** No config blob: nothing to open. */
  NOT_FOUND: 'VAULT.NOT_FOUND',
  /** createVault found a config blob already there. */
  ALREADY_EXISTS: 'VAULT.ALREADY_EXISTS',
  /** The config names a format version (or codec, cipher, block size) this code does not know. */
  UNSUPPORTED_FORMAT: 'VAULT.UNSUPPORTED_FORMAT',
  /** The config or another plaintext structure is malformed. */
  INVALID_FORMAT: 'VAULT.INVALID_FORMAT',
  /** A sealed metadata blob (index, manifest, point) failed authentication or parsing. */
  METADATA_CORRUPT: 'VAULT.METADATA_CORRUPT',
  /** A block failed authentication, decompression or its id re-check; or its pack is truncated. */
  BLOCK_CORRUPT: 'VAULT.BLOCK_CORRUPT',
  /** A referenced block is not in the index, or its pack is gone. */
  BLOCK_MISSING: 'VAULT.BLOCK_MISSING',
  /** No recovery point with that id. */
  POINT_NOT_FOUND: 'VAULT.POINT_NOT_FOUND',
  /** Item-level restore: no entry at that path in the tree. */
  ITEM_NOT_FOUND: 'VAULT.ITEM_NOT_FOUND',
  /** Bad argument from the caller (target kind, option values). */
  INVALID_ARGUMENT: 'VAULT.INVALID_ARGUMENT',
  /** The source could not be read as the kind it claims. */
  SOURCE_UNREADABLE: 'VAULT.SOURCE_UNREADABLE',
  /** Prune found referenced data missing (or an index unreadable) and deleted nothing. */
  DAMAGED: 'VAULT.DAMAGED',
  /**
   * A backup found that blocks it deduplicated against were removed by a concurrent prune before
   * its point was written. Retryable: a re-run uploads them again (backup retries by itself first).
   */
  CONCURRENT_PRUNE: 'VAULT.CONCURRENT_PRUNE',
  /** commitDiskBackup: a segment of the plan has no saved result (not run, or its session was pruned). */
  SEGMENT_MISSING: 'VAULT.SEGMENT_MISSING',
  /**
   * A planId was reused with a different input, or a plan does not match the session saved under
   * its planId (edited, or from another planning run). Not retryable: plan again with a new planId.
   */
  PLAN_CONFLICT: 'VAULT.PLAN_CONFLICT',
} as const;

export const KEY_ERROR_CODES = {
  /** Unwrapping failed authentication: wrong key-encryption key, wrong passphrase, or tampering. */
  UNWRAP_FAILED: 'KEY.UNWRAP_FAILED',
  /** The wrapped key blob is missing or malformed. */
  INVALID_WRAPPED_KEY: 'KEY.INVALID_WRAPPED_KEY',
  /** The key-encryption key file is unusable (wrong size, readable by others). */
  KEK_UNUSABLE: 'KEY.KEK_UNUSABLE',
  /** The passphrase is too short. */
  WEAK_PASSPHRASE: 'KEY.WEAK_PASSPHRASE',
  /** Key Vault refused the caller (401/403): the app's identity lacks wrapKey/unwrapKey (or get) on the key. */
  ACCESS_DENIED: 'KEY.ACCESS_DENIED',
  /** Key Vault has no such key or key version (404): deleted, purged, or a wrong key name. */
  KEK_NOT_FOUND: 'KEY.KEK_NOT_FOUND',
  /** Key Vault throttled or failed (408, 429, 5xx, network). Retryable: the same call may succeed later. */
  TRANSIENT: 'KEY.TRANSIENT',
} as const;

export type VaultErrorCode =
  | (typeof VAULT_ERROR_CODES)[keyof typeof VAULT_ERROR_CODES]
  | (typeof KEY_ERROR_CODES)[keyof typeof KEY_ERROR_CODES];

export interface VaultErrorDetails {
  blockId?: string;
  packId?: string;
  pointIds?: readonly string[];
  key?: string;
  /** VAULT.DAMAGED: what prune found missing. */
  damage?: unknown;
  /** Segmented disk backups: the plan and the segments concerned. */
  planId?: string;
  segments?: readonly number[];
}

export class VaultError extends StrongboxError {
  declare readonly code: VaultErrorCode;
  readonly details: VaultErrorDetails;

  constructor(
    code: VaultErrorCode,
    message: string,
    details: VaultErrorDetails = {},
    options?: StrongboxErrorOptions,
  ) {
    super(code, message, options);
    this.details = details;
  }
}
