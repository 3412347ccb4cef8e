// Frozen on-storage identifiers of vault format 1. docs/format.md describes every byte they label.
// A number here is written into stored data: it MUST NOT be changed or reused for anything else,
// even after the thing it names is retired (kopia repo/compression/compression_ids.go rule).

/** The only vault format this code reads and writes. A vault with any other version is refused. */
export const VAULT_FORMAT_VERSION = 1;
/** The `format` field of the config blob, so a stray JSON blob is never mistaken for a vault. */
export const VAULT_FORMAT_NAME = 'strongbox-vault';

/** Block compression codecs: the first byte of every block record. */
export const CODEC_ID = {
  /** Stored as is: compression saved less than MIN_COMPRESSION_SAVING (random data, tiny blocks). */
  NONE: 0,
  /** Brotli (RFC 7932) stream, any quality; format 1 writes quality 1. node:zlib. */
  BROTLI: 1,
  // 2: reserved for zstd frames. Not implemented.
  /**
   * LZ4 block format (no frame) after a u32 LE of the decoded length (lz4_flex's
   * `compress_prepend_size`, as lz4-wasm-nodejs writes it). Vaults whose config says "lz4".
   */
  LZ4: 3,
} as const;
export type CodecId = (typeof CODEC_ID)[keyof typeof CODEC_ID];

/** Entry types in a pack header. */
export const PACK_ENTRY_TYPE = {
  /** A data block record (block id = HMAC-SHA256 of its plaintext). */
  DATA_BLOCK: 1,
} as const;

/** Sealed (encrypted) metadata objects: byte 1 of every sealed blob, and part of its associated data. */
export const SEALED_KIND = {
  INDEX: 1,
  DISK_MANIFEST: 2,
  TREE_MANIFEST: 3,
  RECOVERY_POINT: 4,
  PACK_HEADER: 5,
  /** Objects of a segmented disk backup session (plan, segment, committed): `sessions/…`. */
  DISK_SESSION: 6,
  /** Quarantine records of broken block copies: `quarantine/…` (docs/format.md, "Quarantine"). */
  QUARANTINE: 7,
} as const;
export type SealedKind = (typeof SEALED_KIND)[keyof typeof SEALED_KIND];

/** Version byte of sealed blobs (byte 0). */
export const SEALED_BLOB_VERSION = 1;

/** Extent kinds in a disk manifest. */
export const EXTENT_KIND = {
  /** Blocks stored in the vault; the extent lists one block id per block. */
  DATA: 1,
  /** Every byte is zero; nothing is stored. */
  ZERO: 2,
  /** Never written on the source (page blobs, later): read back as zeros. */
  UNWRITTEN: 3,
} as const;

/** Magic numbers (ASCII) at the start of binary structures, and the pack trailer's. */
export const MAGIC = {
  PACK_TRAILER: 'SBPK',
  INDEX: 'SBIX',
  DISK_MANIFEST: 'SBDM',
} as const;

/** Cipher, block-id and key-derivation names written into the config blob. */
export const CIPHER_NAME = 'aes-256-gcm';
export const BLOCK_ID_NAME = 'hmac-sha256';
export const KDF_NAME = 'hkdf-sha256';
export const CODEC_NAME: Readonly<Record<CodecId, string>> = { 0: 'none', 1: 'brotli', 3: 'lz4' };

/** HKDF `info` strings: one sub-key per purpose, derived from the master data key. */
export const HKDF_INFO = {
  BLOCK_ID: 'strongbox/v1/block-id',
  ENCRYPTION: 'strongbox/v1/encryption',
} as const;

/** Prefixes of associated data, so a ciphertext of one kind can never authenticate as another. */
export const AAD_PREFIX = {
  BLOCK: 'strongbox/v1/block',
  SEALED: 'strongbox/v1/sealed',
} as const;

/** Fixed sizes in bytes (format 1). */
export const BLOCK_ID_BYTES = 32;
export const VAULT_ID_BYTES = 16;
export const PACK_ID_BYTES = 16;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
export const DATA_KEY_BYTES = 32;
/** codec u8 + plaintext length u32 + nonce 12; the GCM tag follows the ciphertext. */
export const BLOCK_RECORD_HEADER_BYTES = 1 + 4 + GCM_NONCE_BYTES;
export const BLOCK_RECORD_OVERHEAD_BYTES = BLOCK_RECORD_HEADER_BYTES + GCM_TAG_BYTES;
/** version u8 + kind u8 + codec u8 + nonce 12; the GCM tag follows the ciphertext. */
export const SEALED_HEADER_BYTES = 3 + GCM_NONCE_BYTES;
/** "SBPK" + version u8 + 3 reserved + header length u32. */
export const PACK_TRAILER_BYTES = 12;
export const PACK_TRAILER_VERSION = 1;
/** blockId 32 + type u8 + offset u32 + length u32. */
export const PACK_HEADER_ENTRY_BYTES = BLOCK_ID_BYTES + 1 + 4 + 4;
/** blockId 32 + pack number u32 + offset u32 + length u32. */
export const INDEX_ENTRY_BYTES = BLOCK_ID_BYTES + 12;
