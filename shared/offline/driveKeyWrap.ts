// Drive keys travel to the service wrapped for it, never in plaintext (docs/offline-seeding.md "Keys").
// The service has an RSA key pair (the escrow key); the helper gets its public half in the vault
// credentials file and wraps each drive key with RSA-OAEP-SHA256, the OAEP label bound to the drive id,
// so a wrapped key copied onto another drive's record fails to unwrap. Only the service, which holds
// the private half (a local file here, Key Vault later), can unwrap it when the drive arrives.
//
// Frozen (version 1): algorithm RSA-OAEP with SHA-256 and MGF1-SHA-256, label
// "strongbox/v1/drive-key-escrow" 0x00 <driveId>, 3072-bit modulus, output base64.
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { secretFileModeIssue } from '../secretFileMode';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';

export const ESCROW_KEY_FILE = 'offline-escrow-key.json';
/** NIST SP 800-57: 3072-bit RSA for protection beyond 2030. */
export const ESCROW_RSA_MODULUS_BITS = 3072;
const LABEL_PREFIX = 'strongbox/v1/drive-key-escrow';
/** Owner read/write only: the file holds a private key. */
const KEY_FILE_MODE = 0o600;
const KEY_DIR_MODE = 0o700;

export interface EscrowPublicKey {
  /** Key id: the first 16 hex characters of SHA-256 over the SPKI DER (public, stable). */
  readonly kid: string;
  /** SPKI, PEM. */
  readonly publicKeyPem: string;
}

export interface EscrowKeyPair extends EscrowPublicKey {
  readonly privateKey: KeyObject;
}

function labelOf(driveId: string): Buffer {
  return Buffer.from(`${LABEL_PREFIX}\0${driveId}`, 'utf8');
}

export function escrowKidOf(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** Wraps a drive key for the service (helper side). */
export function wrapDriveKey(publicKeyPem: string, driveId: string, key: Buffer): string {
  return publicEncrypt(
    {
      key: createPublicKey(publicKeyPem),
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: 'sha256',
      oaepLabel: labelOf(driveId),
    },
    key,
  ).toString('base64');
}

/** Unwraps a drive key (service side). OFFLINE.ESCROW_FAILED if it was wrapped for another drive or key. */
export function unwrapDriveKey(privateKey: KeyObject, driveId: string, wrapped: string): Buffer {
  try {
    return privateDecrypt(
      {
        key: privateKey,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
        oaepLabel: labelOf(driveId),
      },
      Buffer.from(wrapped, 'base64'),
    );
  } catch (err) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.ESCROW_FAILED,
      `the escrowed key of drive ${driveId} does not unwrap (wrapped for another drive or another service key)`,
      { driveId },
      { cause: err },
    );
  }
}

interface KeyFile {
  readonly kid: string;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

async function readKeyFile(file: string): Promise<EscrowKeyPair> {
  const st = await fs.stat(file);
  // Refuse a key others can read, as ssh does: whoever reads it can decrypt every shipped drive.
  const modeIssue = secretFileModeIssue(st.mode);
  if (modeIssue !== undefined)
    throw new OfflineError(OFFLINE_ERROR_CODES.ESCROW_FAILED, `${file}: ${modeIssue}`);
  const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<KeyFile>;
  if (typeof parsed.privateKeyPem !== 'string' || typeof parsed.publicKeyPem !== 'string') {
    throw new OfflineError(OFFLINE_ERROR_CODES.ESCROW_FAILED, `${file} is not a Strongbox escrow key file`);
  }
  return {
    kid: escrowKidOf(parsed.publicKeyPem),
    publicKeyPem: parsed.publicKeyPem,
    privateKey: createPrivateKey(parsed.privateKeyPem),
  };
}

/**
 * The service's escrow key pair in `dir`, created on first use. Safe when two processes start at once:
 * the file is written under a temporary name and linked into place (link fails if another won).
 */
export async function loadOrCreateEscrowKeyPair(dir: string): Promise<EscrowKeyPair> {
  const file = path.join(dir, ESCROW_KEY_FILE);
  try {
    return await readKeyFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.mkdir(dir, { recursive: true, mode: KEY_DIR_MODE });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: ESCROW_RSA_MODULUS_BITS });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const content: KeyFile = {
    kid: escrowKidOf(publicKeyPem),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem,
  };
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
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
