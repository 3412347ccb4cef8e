// KeyProvider adapter: Azure Key Vault. The vault's master data key is wrapped with RSA-OAEP-256 under
// an RSA key that never leaves Key Vault (wrapKey/unwrapKey). RSA-OAEP has no associated data, so the
// WrapContext is bound inside the ciphertext: the wrapped payload is dataKey ‖ SHA-256(context), and
// unwrap compares the hash (docs/format.md, "Keys"). The envelope names the full key id, version
// included, so a vault wrapped before a key rotation still unwraps with the version it was wrapped under.
//
// The Key Vault SDK is reached only through KeyVaultKeyOps, a narrow seam: tests pass a fake, production
// uses azureKeyVaultKeyOps (azureKeyVaultKeyOps.ts: CryptographyClient + KeyClient with a ManagedIdentityCredential; Strongbox
// uses no DefaultAzureCredential chain). SDK errors become KEY.* codes here, at the edge.
import { createHash, timingSafeEqual } from 'node:crypto';
import { DATA_KEY_BYTES } from './formatIds';
import { randomHexId } from './hex';
import type { KeyProvider, WrapContext, WrappedKey } from './keyProvider';
import { parseEnvelope } from './keyWrap';
import { KEY_ERROR_CODES, VaultError, type VaultErrorCode } from './vaultErrors';

const PROVIDER_NAME = 'azure-key-vault';
const ENVELOPE_VERSION = 1;
/** Key Vault's name for RSA-OAEP with SHA-256 and MGF1-SHA-256. */
export const KEY_VAULT_WRAP_ALGORITHM = 'RSA-OAEP-256';
/** Same domain-separated context as the local adapters' AES-GCM associated data (keyWrap.ts). */
const CONTEXT_PREFIX = 'strongbox/v1/key-wrap';
const CONTEXT_HASH_BYTES = 32;
/** What RSA-OAEP-256 wraps: the data key, then SHA-256 of the context. */
const WRAPPED_PAYLOAD_BYTES = DATA_KEY_BYTES + CONTEXT_HASH_BYTES;
/** Key Vault key types that can do RSA-OAEP-256 (RSA-HSM: HSM-backed, Premium tier or Managed HSM). */
const RSA_KEY_TYPES = new Set(['RSA', 'RSA-HSM']);

/** The narrow seam over the Key Vault SDK. `keyId` is always a full id with its version. */
export interface KeyVaultKeyOps {
  /** The current version of the configured key: its full id and key type (`RSA`, `RSA-HSM`, `EC` ...). */
  getKey(): Promise<{ keyId: string; keyType: string }>;
  wrapKey(keyId: string, plaintext: Uint8Array): Promise<Uint8Array>;
  unwrapKey(keyId: string, wrapped: Uint8Array): Promise<Uint8Array>;
}

export interface KeyVaultKeyProviderOptions {
  /** https://<name>.vault.azure.net; envelopes naming a key in any other vault are refused. */
  vaultUri: string;
  /** The key new vaults are wrapped under (its current version at wrap time). */
  keyName: string;
}

/** `https://<host>/keys/<name>/<version>`, as Key Vault returns key ids. */
const KEY_ID_PATH = /^\/keys\/([0-9A-Za-z-]{1,127})\/([0-9A-Za-z]{1,64})$/;

interface ParsedKeyId {
  origin: string;
  name: string;
  version: string;
}

function parseKeyId(keyId: string): ParsedKeyId | undefined {
  let url: URL;
  try {
    url = new URL(keyId);
  } catch {
    return undefined;
  }
  const m = KEY_ID_PATH.exec(url.pathname);
  if (url.protocol !== 'https:' || !m || url.search !== '' || url.hash !== '') return undefined;
  return { origin: url.origin, name: m[1] ?? '', version: m[2] ?? '' };
}

function contextHash(ctx: WrapContext, keyId: string): Buffer {
  return createHash('sha256').update(`${CONTEXT_PREFIX}\0${ctx.vaultId}\0${keyId}`, 'utf8').digest();
}

export function keyVaultKeyProvider(ops: KeyVaultKeyOps, opts: KeyVaultKeyProviderOptions): KeyProvider {
  const vaultOrigin = new URL(opts.vaultUri).origin;
  const keyLabel = `${opts.keyName} in ${vaultOrigin}`;

  return {
    name: PROVIDER_NAME,
    async wrap(dataKey: Buffer, ctx: WrapContext): Promise<WrappedKey> {
      if (dataKey.length !== DATA_KEY_BYTES) {
        throw new VaultError(KEY_ERROR_CODES.INVALID_WRAPPED_KEY, `a data key is ${DATA_KEY_BYTES} bytes`);
      }
      const current = await atEdge(() => ops.getKey(), 'get', keyLabel);
      const kid = parseKeyId(current.keyId);
      if (!kid || kid.origin !== vaultOrigin || kid.name !== opts.keyName) {
        throw new VaultError(
          KEY_ERROR_CODES.KEK_UNUSABLE,
          `Key Vault returned key id ${current.keyId} for ${keyLabel}, not a versioned id of that key`,
        );
      }
      if (!RSA_KEY_TYPES.has(current.keyType)) {
        throw new VaultError(
          KEY_ERROR_CODES.KEK_UNUSABLE,
          `key ${keyLabel} is of type ${current.keyType}; Strongbox wraps with ${KEY_VAULT_WRAP_ALGORITHM}, ` +
            'which needs an RSA or RSA-HSM key',
        );
      }
      const keyId = randomHexId();
      const payload = Buffer.concat([dataKey, contextHash(ctx, keyId)]);
      let ct: Uint8Array;
      try {
        ct = await atEdge(() => ops.wrapKey(current.keyId, payload), 'wrapKey', current.keyId);
      } finally {
        payload.fill(0);
      }
      const envelope = {
        v: ENVELOPE_VERSION,
        provider: PROVIDER_NAME,
        alg: KEY_VAULT_WRAP_ALGORITHM,
        kid: current.keyId,
        ct: Buffer.from(ct).toString('base64'),
      };
      return { keyId, wrapped: Buffer.from(JSON.stringify(envelope), 'utf8') };
    },

    async unwrap(wrapped: WrappedKey, ctx: WrapContext): Promise<Buffer> {
      const env = parseEnvelope(wrapped.wrapped, wrapped.keyId);
      if (
        env.v !== ENVELOPE_VERSION ||
        env.provider !== PROVIDER_NAME ||
        env.alg !== KEY_VAULT_WRAP_ALGORITHM
      ) {
        throw new VaultError(
          KEY_ERROR_CODES.INVALID_WRAPPED_KEY,
          `key ${wrapped.keyId} was not wrapped by ${PROVIDER_NAME} v${ENVELOPE_VERSION}`,
        );
      }
      const { kid, ct } = env;
      const parsed = typeof kid === 'string' ? parseKeyId(kid) : undefined;
      if (typeof kid !== 'string' || !parsed || typeof ct !== 'string') {
        throw new VaultError(
          KEY_ERROR_CODES.INVALID_WRAPPED_KEY,
          `wrapped key ${wrapped.keyId} lacks kid/ct`,
        );
      }
      // The managed identity's token is sent to the host in `kid`: only ever to the configured vault.
      if (parsed.origin !== vaultOrigin) {
        throw new VaultError(
          KEY_ERROR_CODES.UNWRAP_FAILED,
          `key ${wrapped.keyId} was wrapped in Key Vault ${parsed.origin}, not the configured ${vaultOrigin}`,
        );
      }
      const payload = Buffer.from(
        await atEdge(() => ops.unwrapKey(kid, Buffer.from(ct, 'base64')), 'unwrapKey', kid),
      );
      try {
        const expected = contextHash(ctx, wrapped.keyId);
        const bound = payload.subarray(DATA_KEY_BYTES);
        if (payload.length !== WRAPPED_PAYLOAD_BYTES || !timingSafeEqual(bound, expected)) {
          throw new VaultError(
            KEY_ERROR_CODES.UNWRAP_FAILED,
            `cannot unwrap key ${wrapped.keyId}: it is bound to another vault or key id (or was tampered with)`,
          );
        }
        return Buffer.from(payload.subarray(0, DATA_KEY_BYTES));
      } finally {
        payload.fill(0);
      }
    },
  };
}

// --- Error translation at the edge -----------------------------------------------------------------

type KeyVaultOp = 'get' | 'wrapKey' | 'unwrapKey';

/** Azure documents these as retryable (throttling, timeouts, server errors). */
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'REQUEST_SEND_ERROR',
]);

type ErrorKind = 'denied' | 'notFound' | 'transient' | 'badCiphertext' | 'other';

/** Classifies an SDK error by plain fields (RestError's statusCode/code, identity errors' name). */
export function keyVaultErrorKind(err: unknown): ErrorKind {
  if (typeof err !== 'object' || err === null) return 'other';
  const { statusCode, code, name } = err as { statusCode?: unknown; code?: unknown; name?: unknown };
  if (statusCode === 401 || statusCode === 403) return 'denied';
  if (statusCode === 404) return 'notFound';
  if (typeof statusCode === 'number' && TRANSIENT_STATUSES.has(statusCode)) return 'transient';
  // Key Vault answers a ciphertext it cannot decrypt with 400 BadParameter.
  if (statusCode === 400) return 'badCiphertext';
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return 'transient';
  if (name === 'AbortError' || name === 'TimeoutError') return 'transient';
  // @azure/identity: no managed identity endpoint here, or Entra refused to issue a token.
  if (name === 'CredentialUnavailableError' || name === 'AuthenticationError') return 'denied';
  return 'other';
}

function translate(err: unknown, op: KeyVaultOp, key: string): VaultError {
  const why = err instanceof Error ? err.message : String(err);
  const make = (code: VaultErrorCode, message: string) =>
    new VaultError(code, `${message} (${why})`, { key }, { cause: err });
  switch (keyVaultErrorKind(err)) {
    case 'denied':
      return make(
        KEY_ERROR_CODES.ACCESS_DENIED,
        `the Function App's identity lacks ${op === 'get' ? 'get' : 'wrapKey/unwrapKey'} on Key Vault key ` +
          `${key} (grant it "Key Vault Crypto Service Encryption User" on the key, or check its managed identity)`,
      );
    case 'notFound':
      return make(
        KEY_ERROR_CODES.KEK_NOT_FOUND,
        `Key Vault key ${key} not found (deleted, purged, or a wrong name)`,
      );
    case 'transient':
      return make(KEY_ERROR_CODES.TRANSIENT, `Key Vault ${op} on ${key} failed transiently; retry`);
    case 'badCiphertext':
      return make(
        op === 'unwrapKey' ? KEY_ERROR_CODES.UNWRAP_FAILED : KEY_ERROR_CODES.KEK_UNUSABLE,
        `Key Vault refused ${op} on ${key}`,
      );
    case 'other':
      return make(KEY_ERROR_CODES.KEK_UNUSABLE, `Key Vault ${op} on ${key} failed`);
  }
}

/** Runs one SDK call; a synchronous throw is translated like a rejection. */
async function atEdge<T>(call: () => Promise<T>, op: KeyVaultOp, key: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof VaultError) throw err;
    throw translate(err, op, key);
  }
}
