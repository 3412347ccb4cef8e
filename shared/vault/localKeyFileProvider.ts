// KeyProvider adapter: a 256-bit key-encryption key (KEK) in a local file, created on first use with
// mode 0600 (O_EXCL, so two processes never create two keys). The master data key is wrapped with
// AES-256-GCM under it. For the local host and tests; production uses Key Vault.
import { createHmac, randomBytes } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { secretFileModeIssue } from '../secretFileMode';
import { DATA_KEY_BYTES } from './formatIds';
import { randomHexId } from './hex';
import type { KeyProvider, WrapContext, WrappedKey } from './keyProvider';
import { gcmFieldsOf, gcmUnwrap, gcmWrap, parseEnvelope } from './keyWrap';
import { KEY_ERROR_CODES, VaultError } from './vaultErrors';

const PROVIDER_NAME = 'local-key-file';
const ENVELOPE_VERSION = 1;
/** Owner read/write only: the file is the key. */
const KEK_FILE_MODE = 0o600;

export interface LocalKeyFileOptions {
  /** Create the file if missing (default true). With false, a missing file is KEY.KEK_UNUSABLE. */
  create?: boolean;
}

/** A short public fingerprint, so "wrong key file" can be told apart from tampering. */
function fingerprintOf(kek: Buffer): string {
  return createHmac('sha256', kek).update('strongbox/v1/kek-fingerprint').digest('hex').slice(0, 16);
}

export function localKeyFileProvider(kekPath: string, opts: LocalKeyFileOptions = {}): KeyProvider {
  let kek: Promise<Buffer> | undefined;
  const load = (): Promise<Buffer> => (kek ??= loadOrCreateKek(kekPath, opts.create ?? true));

  return {
    name: PROVIDER_NAME,
    async wrap(dataKey: Buffer, ctx: WrapContext): Promise<WrappedKey> {
      const key = await load();
      const keyId = randomHexId();
      const envelope = {
        v: ENVELOPE_VERSION,
        provider: PROVIDER_NAME,
        alg: 'A256GCM',
        kek: fingerprintOf(key),
        ...gcmWrap(key, dataKey, ctx, keyId),
      };
      return { keyId, wrapped: Buffer.from(JSON.stringify(envelope), 'utf8') };
    },
    async unwrap(wrapped: WrappedKey, ctx: WrapContext): Promise<Buffer> {
      const key = await load();
      const env = parseEnvelope(wrapped.wrapped, wrapped.keyId);
      if (env.v !== ENVELOPE_VERSION || env.provider !== PROVIDER_NAME || env.alg !== 'A256GCM') {
        throw new VaultError(
          KEY_ERROR_CODES.INVALID_WRAPPED_KEY,
          `key ${wrapped.keyId} was not wrapped by ${PROVIDER_NAME} v${ENVELOPE_VERSION}`,
        );
      }
      if (env.kek !== fingerprintOf(key)) {
        throw new VaultError(
          KEY_ERROR_CODES.UNWRAP_FAILED,
          `key ${wrapped.keyId} was wrapped under another key file (fingerprint ${String(env.kek)})`,
        );
      }
      return gcmUnwrap(key, gcmFieldsOf(env, wrapped.keyId), ctx, wrapped.keyId);
    },
  };
}

async function loadOrCreateKek(kekPath: string, create: boolean): Promise<Buffer> {
  if (create) {
    try {
      const handle = await open(kekPath, 'wx', KEK_FILE_MODE);
      try {
        await handle.writeFile(randomBytes(DATA_KEY_BYTES));
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw kekUnusable(kekPath, 'cannot create it', err);
    }
  }
  let info;
  try {
    info = await stat(kekPath);
  } catch (err) {
    throw kekUnusable(kekPath, 'cannot read it', err);
  }
  // Like ssh with private keys: a key file others can read is refused rather than used.
  const modeIssue = secretFileModeIssue(info.mode);
  if (modeIssue !== undefined) throw kekUnusable(kekPath, modeIssue);
  const bytes = await readFile(kekPath);
  if (bytes.length !== DATA_KEY_BYTES)
    throw kekUnusable(kekPath, `it holds ${bytes.length} bytes, expected 32`);
  return bytes;
}

function kekUnusable(kekPath: string, why: string, cause?: unknown): VaultError {
  return new VaultError(
    KEY_ERROR_CODES.KEK_UNUSABLE,
    `key-encryption key file ${kekPath}: ${why}`,
    {},
    cause === undefined ? undefined : { cause },
  );
}
