// The vault credentials file (Azure Backup's *.VaultCredentials): what an admin downloads from the API
// and gives the helper's `register`. Version 1 (frozen field names):
//
//   {"format":"strongbox-vault-credentials","version":1,
//    "subscriptionId","vaultName","vaultId",
//    "registrationId":"<32 hex>","registrationSecret":"<43 base64url chars: 32 random bytes>",
//    "issuedTime","expiresTime",                 (ISO-8601; valid 10 days, as Azure's)
//    "escrowKey":{"kid","publicKeyPem"},          (drive keys are wrapped for this key, driveKeyWrap.ts)
//    "serviceUrl"?}                               (added by `strongbox-helper credentials`; optional)
//
// The secret is a bearer credential for registering servers with this vault until it expires; the
// service keeps only its SHA-256. The file holds no data key and no passphrase.
import { createHash, timingSafeEqual } from 'node:crypto';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';

export const CREDENTIALS_FORMAT = 'strongbox-vault-credentials';
export const CREDENTIALS_VERSION = 1;
export const REGISTRATION_SECRET_BYTES = 32;

export interface VaultCredentialsFile {
  readonly format: typeof CREDENTIALS_FORMAT;
  readonly version: typeof CREDENTIALS_VERSION;
  readonly subscriptionId: string;
  readonly vaultName: string;
  readonly vaultId: string;
  readonly registrationId: string;
  readonly registrationSecret: string;
  readonly issuedTime: string;
  readonly expiresTime: string;
  readonly escrowKey: { readonly kid: string; readonly publicKeyPem: string };
  readonly serviceUrl?: string;
}

export function secretSha256(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedSha256: string): boolean {
  const a = Buffer.from(secretSha256(secret), 'hex');
  const b = Buffer.from(storedSha256, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function invalid(field: string, rule: string): OfflineError {
  return new OfflineError(OFFLINE_ERROR_CODES.CREDENTIALS_INVALID, `vault credentials: ${field} ${rule}`);
}

const HEX32 = /^[0-9a-f]{32}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** Parses and checks a credentials file (format first, then every field, then expiry against `now`). */
export function parseVaultCredentials(text: string, now: Date): VaultCredentialsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid('file', 'is not JSON (download it again from the API: POST .../vaultCredentials)');
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (o.format !== CREDENTIALS_FORMAT) throw invalid('format', `must be "${CREDENTIALS_FORMAT}"`);
  if (o.version !== CREDENTIALS_VERSION) {
    throw invalid('version', `${String(o.version)} is not supported (this helper reads version 1)`);
  }
  const str = (name: string): string => {
    const v = o[name];
    if (typeof v !== 'string' || v === '') throw invalid(name, 'is required (a string)');
    return v;
  };
  const registrationId = str('registrationId');
  if (!HEX32.test(registrationId)) throw invalid('registrationId', 'must be 32 hex characters');
  const registrationSecret = str('registrationSecret');
  if (!SECRET.test(registrationSecret))
    throw invalid('registrationSecret', 'must be 43 base64url characters');
  const expiresTime = str('expiresTime');
  if (Number.isNaN(Date.parse(expiresTime))) throw invalid('expiresTime', 'must be an ISO-8601 time');
  if (now.getTime() >= Date.parse(expiresTime)) {
    throw invalid(
      'expiresTime',
      `passed (${expiresTime}): the file is valid for 10 days; download a new one from the API`,
    );
  }
  const escrow = (typeof o.escrowKey === 'object' && o.escrowKey !== null ? o.escrowKey : {}) as Record<
    string,
    unknown
  >;
  if (typeof escrow.kid !== 'string' || typeof escrow.publicKeyPem !== 'string') {
    throw invalid('escrowKey', 'must have kid and publicKeyPem');
  }
  const serviceUrl = o.serviceUrl;
  if (serviceUrl !== undefined && typeof serviceUrl !== 'string')
    throw invalid('serviceUrl', 'must be a URL');
  return {
    format: CREDENTIALS_FORMAT,
    version: CREDENTIALS_VERSION,
    subscriptionId: str('subscriptionId'),
    vaultName: str('vaultName'),
    vaultId: str('vaultId'),
    registrationId,
    registrationSecret,
    issuedTime: str('issuedTime'),
    expiresTime,
    escrowKey: { kid: escrow.kid, publicKeyPem: escrow.publicKeyPem },
    ...(typeof serviceUrl === 'string' ? { serviceUrl } : {}),
  };
}
