// Creates a vault in an empty BlobStore: a fresh random master data key, stored only wrapped under
// `keys/<keyId>`, then the plaintext `config` blob, written once with ifNoneMatch.
import { randomBytes } from 'node:crypto';
import type { BlobStore } from '../blob/blobStore';
import { BLOB_ERROR_CODES } from '../blob/blobErrors';
import { hasErrorCode } from '../errors';
import { BlockIndex } from './blockIndex';
import { QuarantineSet } from './quarantine';
import { codecOfCompression, compressionOfCodec, type CompressionMode } from './blockCodec';
import {
  BLOCK_ID_NAME,
  CIPHER_NAME,
  DATA_KEY_BYTES,
  KDF_NAME,
  VAULT_FORMAT_NAME,
  VAULT_FORMAT_VERSION,
  VAULT_ID_BYTES,
} from './formatIds';
import type { KeyProvider } from './keyProvider';
import { VAULT_KEYS, type Vault } from './vault';
import { encodeConfig, type VaultConfig } from './vaultConfig';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';
import { VaultKeys } from './vaultKeys';

/** 64 KiB: the lever for small incrementals (performance.md §2: 1% scattered change → ~2% new data). */
export const DEFAULT_BLOCK_SIZE_BYTES = 64 * 1024;
/** 16 MiB packs: 4 Azure Put Blocks of 4 MiB; small enough that prune rewrites little (docs/format.md). */
export const DEFAULT_PACK_TARGET_BYTES = 16 * 1024 * 1024;

/** What a new vault compresses with unless told otherwise (old vaults keep their config's codec). */
export const DEFAULT_COMPRESSION: CompressionMode = 'lz4';

export interface CreateVaultOptions {
  blockSizeBytes?: number;
  packTargetBytes?: number;
  /**
   * The codec new blocks are written with (each skipped when it saves < 3%): 'lz4' (the default for
   * new vaults: decodes ~3× faster than Brotli, stores ~1/3 more for text; docs/format.md,
   * "Compression"), 'auto' (Brotli q1, the codec of vaults created before lz4), or 'off'.
   */
  compression?: CompressionMode;
  now?: () => Date;
}

export async function createVault(
  store: BlobStore,
  keyProvider: KeyProvider,
  opts: CreateVaultOptions = {},
): Promise<Vault> {
  if (await store.stat(VAULT_KEYS.CONFIG)) {
    throw new VaultError(
      VAULT_ERROR_CODES.ALREADY_EXISTS,
      'this store already holds a vault (config exists)',
    );
  }
  const vaultIdBytes = randomBytes(VAULT_ID_BYTES);
  const vaultId = vaultIdBytes.toString('hex');
  const master = randomBytes(DATA_KEY_BYTES);
  try {
    const wrapped = await keyProvider.wrap(master, { vaultId });
    await store.put(VAULT_KEYS.keyBlob(wrapped.keyId), wrapped.wrapped, { ifNoneMatch: '*' });
    const config: VaultConfig = {
      format: VAULT_FORMAT_NAME,
      version: VAULT_FORMAT_VERSION,
      vaultId,
      createdAt: (opts.now ?? (() => new Date()))().toISOString(),
      blockSizeBytes: opts.blockSizeBytes ?? DEFAULT_BLOCK_SIZE_BYTES,
      packTargetBytes: opts.packTargetBytes ?? DEFAULT_PACK_TARGET_BYTES,
      codec: codecOfCompression(opts.compression ?? DEFAULT_COMPRESSION),
      cipher: CIPHER_NAME,
      blockId: BLOCK_ID_NAME,
      kdf: KDF_NAME,
      key: { id: wrapped.keyId, provider: keyProvider.name },
    };
    try {
      await store.put(VAULT_KEYS.CONFIG, encodeConfig(config), { ifNoneMatch: '*' });
    } catch (err) {
      if (hasErrorCode(err, BLOB_ERROR_CODES.ALREADY_EXISTS)) {
        throw new VaultError(VAULT_ERROR_CODES.ALREADY_EXISTS, 'another process created a vault here first');
      }
      throw err;
    }
    return {
      store,
      config,
      vaultIdBytes,
      keys: new VaultKeys(master, vaultIdBytes),
      index: new BlockIndex(),
      indexIds: new Set(),
      damagedIndexes: [],
      quarantine: new QuarantineSet(),
      compression: compressionOfCodec(config.codec),
    };
  } finally {
    master.fill(0);
  }
}
