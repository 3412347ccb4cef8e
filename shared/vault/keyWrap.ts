// AES-256-GCM key wrapping shared by the local adapters. The envelope is JSON so its parameters
// (salt, scrypt cost) are self-describing; the wrapped key itself is only ever ciphertext.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DATA_KEY_BYTES, GCM_NONCE_BYTES, GCM_TAG_BYTES } from './formatIds';
import { KEY_ERROR_CODES, VaultError } from './vaultErrors';
import type { WrapContext } from './keyProvider';

const KEY_WRAP_AAD_PREFIX = 'strongbox/v1/key-wrap';

export interface GcmWrapFields {
  nonce: string;
  ct: string;
  tag: string;
}

/** Associated data: the wrap is bound to the vault and to the key id it is stored under. */
function wrapAad(ctx: WrapContext, keyId: string): Buffer {
  return Buffer.from(`${KEY_WRAP_AAD_PREFIX}\0${ctx.vaultId}\0${keyId}`, 'utf8');
}

export function gcmWrap(kek: Buffer, dataKey: Buffer, ctx: WrapContext, keyId: string): GcmWrapFields {
  const nonce = randomBytes(GCM_NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(wrapAad(ctx, keyId));
  const ct = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return {
    nonce: nonce.toString('base64'),
    ct: ct.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

export function gcmUnwrap(kek: Buffer, fields: GcmWrapFields, ctx: WrapContext, keyId: string): Buffer {
  const nonce = Buffer.from(fields.nonce, 'base64');
  const tag = Buffer.from(fields.tag, 'base64');
  const ct = Buffer.from(fields.ct, 'base64');
  if (nonce.length !== GCM_NONCE_BYTES || tag.length !== GCM_TAG_BYTES || ct.length !== DATA_KEY_BYTES) {
    throw new VaultError(KEY_ERROR_CODES.INVALID_WRAPPED_KEY, `wrapped key ${keyId} has bad field sizes`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, nonce);
    decipher.setAAD(wrapAad(ctx, keyId));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]);
  } catch (err) {
    throw new VaultError(
      KEY_ERROR_CODES.UNWRAP_FAILED,
      `cannot unwrap key ${keyId}: authentication failed (wrong key-encryption key or passphrase, or tampering)`,
      {},
      { cause: err },
    );
  }
}

/** Parses a JSON envelope, or throws INVALID_WRAPPED_KEY. */
export function parseEnvelope(wrapped: Uint8Array, keyId: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(wrapped).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // fall through
  }
  throw new VaultError(KEY_ERROR_CODES.INVALID_WRAPPED_KEY, `wrapped key ${keyId} is not a JSON envelope`);
}

export function gcmFieldsOf(env: Record<string, unknown>, keyId: string): GcmWrapFields {
  const { nonce, ct, tag } = env;
  if (typeof nonce !== 'string' || typeof ct !== 'string' || typeof tag !== 'string') {
    throw new VaultError(KEY_ERROR_CODES.INVALID_WRAPPED_KEY, `wrapped key ${keyId} lacks nonce/ct/tag`);
  }
  return { nonce, ct, tag };
}
