// The host's keys and their stored form. The stored form is the real host's secrets file
// (`azure-webjobs-secrets/<hostId>/host.json`), so tools that read it there work here too.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

export const MASTER_KEY_NAME = 'master';
export const DEFAULT_FUNCTION_KEY_NAME = 'default';
/** The system key the durable HTTP API and the durableClient binding's `code=` use (real host name). */
export const DURABLE_SYSTEM_KEY_NAME = 'durabletask_extension';
/** Random bytes per generated key; the real host's keys carry at least this much entropy. */
export const KEY_ENTROPY_BYTES = 40;

/** Keys as the HTTP layer checks them. */
export interface HostKeys {
  readonly masterKey: string;
  readonly functionKeys: Readonly<Record<string, string>>;
  readonly systemKeys: Readonly<Record<string, string>>;
}

/** Values that replace stored keys for this process only (never written back). */
export interface HostKeyOverrides {
  readonly masterKey?: string | undefined;
  readonly defaultFunctionKey?: string | undefined;
}

const storedKey = z.object({
  name: z.string(),
  value: z.string().min(1),
  encrypted: z.boolean().default(false),
});

const storedSecretsSchema = z
  .object({
    masterKey: storedKey,
    functionKeys: z.array(storedKey).default([]),
    systemKeys: z.array(storedKey).default([]),
    hostName: z.string().nullable().optional(),
    instanceId: z.string().optional(),
    source: z.string().optional(),
    decryptionKeyId: z.string().optional(),
  })
  .loose();

export type StoredHostSecrets = z.infer<typeof storedSecretsSchema>;
type StoredKey = z.infer<typeof storedKey>;

export class HostKeysError extends Error {
  constructor(
    readonly code: 'KEYS.INVALID_SECRETS' | 'KEYS.ENCRYPTED_UNSUPPORTED' | 'KEYS.STORE_CONFLICT',
    message: string,
  ) {
    super(message);
    this.name = 'HostKeysError';
  }
}

/** A URL-safe random key, so it can go in `?code=` without encoding. */
export function generateKeyValue(): string {
  return randomBytes(KEY_ENTROPY_BYTES).toString('base64url');
}

function key(name: string): StoredKey {
  return { name, value: generateKeyValue(), encrypted: false };
}

export function newHostSecrets(hostName: string): StoredHostSecrets {
  return {
    masterKey: key(MASTER_KEY_NAME),
    functionKeys: [key(DEFAULT_FUNCTION_KEY_NAME)],
    systemKeys: [key(DURABLE_SYSTEM_KEY_NAME)],
    hostName,
    instanceId: randomBytes(16).toString('hex'),
    source: 'runtime',
    decryptionKeyId: '',
  };
}

export function parseStoredHostSecrets(text: string): StoredHostSecrets {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HostKeysError('KEYS.INVALID_SECRETS', 'The stored host secrets are not JSON');
  }
  const parsed = storedSecretsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new HostKeysError(
      'KEYS.INVALID_SECRETS',
      `The stored host secrets are invalid: ${parsed.error.issues[0]?.message ?? 'unknown'}`,
    );
  }
  const all = [parsed.data.masterKey, ...parsed.data.functionKeys, ...parsed.data.systemKeys];
  if (all.some((k) => k.encrypted)) {
    // Azure encrypts keys with the site's machine key, which a local host does not have.
    throw new HostKeysError(
      'KEYS.ENCRYPTED_UNSUPPORTED',
      'The stored host secrets are encrypted; delete the blob so this host can generate plain keys',
    );
  }
  return parsed.data;
}

/** Adds the default function key and the durable system key if a stored file lacks them. */
export function withRequiredKeys(secrets: StoredHostSecrets): {
  secrets: StoredHostSecrets;
  changed: boolean;
} {
  const functionKeys = [...secrets.functionKeys];
  const systemKeys = [...secrets.systemKeys];
  let changed = false;
  if (!functionKeys.some((k) => k.name === DEFAULT_FUNCTION_KEY_NAME)) {
    functionKeys.push(key(DEFAULT_FUNCTION_KEY_NAME));
    changed = true;
  }
  if (!systemKeys.some((k) => k.name === DURABLE_SYSTEM_KEY_NAME)) {
    systemKeys.push(key(DURABLE_SYSTEM_KEY_NAME));
    changed = true;
  }
  return { secrets: { ...secrets, functionKeys, systemKeys }, changed };
}

export function toHostKeys(secrets: StoredHostSecrets, overrides: HostKeyOverrides = {}): HostKeys {
  const functionKeys: Record<string, string> = {};
  for (const k of secrets.functionKeys) functionKeys[k.name] = k.value;
  const systemKeys: Record<string, string> = {};
  for (const k of secrets.systemKeys) systemKeys[k.name] = k.value;
  if (overrides.defaultFunctionKey) functionKeys[DEFAULT_FUNCTION_KEY_NAME] = overrides.defaultFunctionKey;
  return Object.freeze({
    masterKey: overrides.masterKey || secrets.masterKey.value,
    functionKeys: Object.freeze(functionKeys),
    systemKeys: Object.freeze(systemKeys),
  });
}

/** The durable system key; always present after `withRequiredKeys`. */
export function durableSystemKey(keys: HostKeys): string {
  const k = keys.systemKeys[DURABLE_SYSTEM_KEY_NAME];
  if (!k)
    throw new HostKeysError('KEYS.INVALID_SECRETS', `System key "${DURABLE_SYSTEM_KEY_NAME}" is missing`);
  return k;
}
