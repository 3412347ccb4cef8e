// The local signing key: an RSA key pair generated on first use and kept in a directory
// (STRONGBOX_LOCAL_AUTH_DIR, default .strongbox/auth), so a laptop can run the API with real RS256 tokens
// and no Entra ID. Only the local host and `npm run token` read it; a deployed app verifies Entra ID
// tokens against its JWKS instead (tokenVerifier.ts).
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK, type KeyLike } from 'jose';
import { StrongboxError } from '../errors';
import { secretFileModeIssue } from '../secretFileMode';

export const LOCAL_SIGNING_KEY_FILE = 'signing-key.json';
/** RS256 with a 2048-bit modulus: the smallest size jose and Entra ID accept for RS256. */
const RSA_MODULUS_BITS = 2048;
/** Owner read/write only: the file holds a private key (like ~/.ssh/id_rsa). */
const KEY_FILE_MODE = 0o600;
const KEY_DIR_MODE = 0o700;
export const LOCAL_AUTH_ERROR = 'AUTH.LOCAL_KEY_INVALID';

export interface LocalSigningKey {
  readonly kid: string;
  readonly privateKey: KeyLike;
  /** The public half as a JWK with kid, alg and use set: what a verifier trusts. */
  readonly publicJwk: JWK;
}

interface KeyFile {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

async function readKeyFile(file: string): Promise<LocalSigningKey> {
  const stat = await fs.stat(file);
  // Refuse a key others can read, as ssh does: anyone who reads it can mint Owner tokens.
  const modeIssue = secretFileModeIssue(stat.mode);
  if (modeIssue !== undefined) throw new StrongboxError(LOCAL_AUTH_ERROR, `${file}: ${modeIssue}`);
  const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<KeyFile>;
  if (
    typeof parsed.kid !== 'string' ||
    !parsed.privateJwk ||
    !parsed.publicJwk ||
    parsed.privateJwk.kty !== 'RSA'
  ) {
    throw new StrongboxError(LOCAL_AUTH_ERROR, `${file} is not a Strongbox signing key file`);
  }
  const privateKey = await importJWK(parsed.privateJwk, 'RS256');
  if (privateKey instanceof Uint8Array)
    throw new StrongboxError(LOCAL_AUTH_ERROR, `${file} holds a symmetric key`);
  return { kid: parsed.kid, privateKey, publicJwk: parsed.publicJwk };
}

/**
 * Loads the key from `dir`, creating the directory and a new key pair if there is none. Safe when the host
 * and `npm run token` start at the same moment: the file is written under a temporary name and linked into
 * place, which fails if another process linked first, and then that process's key is used.
 */
export async function loadOrCreateLocalSigningKey(dir: string): Promise<LocalSigningKey> {
  const file = path.join(dir, LOCAL_SIGNING_KEY_FILE);
  try {
    return await readKeyFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.mkdir(dir, { recursive: true, mode: KEY_DIR_MODE });
  // The directory may be anywhere the setting points; keep its contents out of git regardless.
  await fs.writeFile(path.join(dir, '.gitignore'), '*\n', { flag: 'w' });
  const { privateKey, publicKey } = await generateKeyPair('RS256', {
    modulusLength: RSA_MODULUS_BITS,
    extractable: true,
  });
  const kid = randomUUID();
  const content: KeyFile = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
  const tmp = `${file}.${process.pid}.${kid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(content, null, 2), { mode: KEY_FILE_MODE, flag: 'wx' });
  try {
    await fs.link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return readKeyFile(file);
}

export interface MintOptions {
  readonly principalId: string;
  readonly issuer: string;
  readonly audience: string;
  /** Default one hour, like Entra ID access tokens. */
  readonly expiresInSeconds?: number;
  readonly name?: string;
  /** Test hook: issue the token as of this time. */
  readonly now?: Date;
}

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

/** A bearer token the local service accepts: RS256, with Entra ID's claim names (oid, sub, iss, aud). */
export async function mintLocalToken(key: LocalSigningKey, options: MintOptions): Promise<string> {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ oid: options.principalId, ...(options.name ? { name: options.name } : {}) })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setSubject(options.principalId)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + (options.expiresInSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS))
    .sign(key.privateKey);
}
