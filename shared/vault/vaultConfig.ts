// The `config` blob: plaintext JSON, written once (ifNoneMatch '*'). The version is checked before
// anything else, so a future format is refused with a clear error instead of misread.
import { z } from 'zod';
import { BLOCK_ID_NAME, CIPHER_NAME, KDF_NAME, VAULT_FORMAT_NAME, VAULT_FORMAT_VERSION } from './formatIds';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';

export const MIN_BLOCK_SIZE_BYTES = 4 * 1024;
export const MAX_BLOCK_SIZE_BYTES = 1024 * 1024;

const configSchema = z.strictObject({
  format: z.literal(VAULT_FORMAT_NAME),
  version: z.literal(VAULT_FORMAT_VERSION),
  vaultId: z.string().regex(/^[0-9a-f]{32}$/),
  createdAt: z.string(),
  blockSizeBytes: z
    .number()
    .int()
    .min(MIN_BLOCK_SIZE_BYTES)
    .max(MAX_BLOCK_SIZE_BYTES)
    .refine((n) => (n & (n - 1)) === 0, 'a power of two'),
  packTargetBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024),
  codec: z.enum(['brotli', 'lz4', 'none']),
  cipher: z.literal(CIPHER_NAME),
  blockId: z.literal(BLOCK_ID_NAME),
  kdf: z.literal(KDF_NAME),
  key: z.strictObject({ id: z.string().regex(/^[0-9a-f]{32}$/), provider: z.string().min(1) }),
});

export type VaultConfig = z.infer<typeof configSchema>;

export function encodeConfig(config: VaultConfig): Buffer {
  return Buffer.from(`${JSON.stringify(configSchema.parse(config), null, 2)}\n`, 'utf8');
}

export function decodeConfig(bytes: Uint8Array): VaultConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new VaultError(VAULT_ERROR_CODES.INVALID_FORMAT, 'vault config is not JSON', {}, { cause: err });
  }
  const head = raw as { format?: unknown; version?: unknown } | null;
  if (typeof head !== 'object' || head === null || head.format !== VAULT_FORMAT_NAME) {
    throw new VaultError(
      VAULT_ERROR_CODES.INVALID_FORMAT,
      `not a Strongbox vault config (format ≠ ${VAULT_FORMAT_NAME})`,
    );
  }
  if (head.version !== VAULT_FORMAT_VERSION) {
    throw new VaultError(
      VAULT_ERROR_CODES.UNSUPPORTED_FORMAT,
      `vault format version ${JSON.stringify(head.version)} is not supported (this build reads version ${VAULT_FORMAT_VERSION}); upgrade Strongbox`,
    );
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new VaultError(
      VAULT_ERROR_CODES.UNSUPPORTED_FORMAT,
      `vault config version 1 has unsupported settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}
