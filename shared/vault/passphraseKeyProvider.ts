// KeyProvider adapter for the on-prem helper: the key-encryption key is derived from a passphrase
// with scrypt; the salt and cost parameters are stored in the envelope so they can be raised later
// without breaking old vaults.
import { randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { DATA_KEY_BYTES } from './formatIds';
import { randomHexId } from './hex';
import type { KeyProvider, WrapContext, WrappedKey } from './keyProvider';
import { gcmFieldsOf, gcmUnwrap, gcmWrap, parseEnvelope } from './keyWrap';
import { KEY_ERROR_CODES, VaultError } from './vaultErrors';

const PROVIDER_NAME = 'passphrase';
const ENVELOPE_VERSION = 1;
export const MIN_PASSPHRASE_CHARS = 16;
const SALT_BYTES = 16;

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** Default cost: N=2^17, r=8 (128 MiB, ~0.3 s here), above OWASP's scrypt minimum (N=2^17, r=8, p=1). */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
/** Refuse envelopes asking for more than this (a hostile envelope must not exhaust memory). */
const MAX_SCRYPT_N = 2 ** 20;

function deriveKek(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.N * params.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) =>
    scryptCb(passphrase.normalize('NFC'), salt, DATA_KEY_BYTES, opts, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export function passphraseKeyProvider(
  passphrase: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): KeyProvider {
  if ([...passphrase].length < MIN_PASSPHRASE_CHARS) {
    throw new VaultError(
      KEY_ERROR_CODES.WEAK_PASSPHRASE,
      `a passphrase needs at least ${MIN_PASSPHRASE_CHARS} characters`,
    );
  }
  return {
    name: PROVIDER_NAME,
    async wrap(dataKey: Buffer, ctx: WrapContext): Promise<WrappedKey> {
      const salt = randomBytes(SALT_BYTES);
      const kek = await deriveKek(passphrase, salt, params);
      const keyId = randomHexId();
      const envelope = {
        v: ENVELOPE_VERSION,
        provider: PROVIDER_NAME,
        kdf: 'scrypt',
        ...params,
        salt: salt.toString('base64'),
        alg: 'A256GCM',
        ...gcmWrap(kek, dataKey, ctx, keyId),
      };
      return { keyId, wrapped: Buffer.from(JSON.stringify(envelope), 'utf8') };
    },
    async unwrap(wrapped: WrappedKey, ctx: WrapContext): Promise<Buffer> {
      const env = parseEnvelope(wrapped.wrapped, wrapped.keyId);
      const { N, r, p, salt } = env;
      if (
        env.v !== ENVELOPE_VERSION ||
        env.provider !== PROVIDER_NAME ||
        env.kdf !== 'scrypt' ||
        env.alg !== 'A256GCM' ||
        typeof N !== 'number' ||
        typeof r !== 'number' ||
        typeof p !== 'number' ||
        typeof salt !== 'string' ||
        N > MAX_SCRYPT_N ||
        r > 32 ||
        p > 16
      ) {
        throw new VaultError(
          KEY_ERROR_CODES.INVALID_WRAPPED_KEY,
          `key ${wrapped.keyId}: bad passphrase envelope`,
        );
      }
      const kek = await deriveKek(passphrase, Buffer.from(salt, 'base64'), { N, r, p });
      return gcmUnwrap(kek, gcmFieldsOf(env, wrapped.keyId), ctx, wrapped.keyId);
    },
  };
}
