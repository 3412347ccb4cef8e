// Parses an Azure Storage connection string into one canonical form that every SDK we use reads the same
// way. The SDKs disagree at the edges: storage-blob and storage-queue only treat a string as an account-key
// string when `DefaultEndpointsProtocol=` appears with that exact casing, and data-tables needs an explicit
// TableEndpoint for SAS strings. Rendering explicit endpoints in fixed casing removes those differences.

/** Azurite's default ports, used by `UseDevelopmentStorage=true` (Microsoft-documented emulator defaults). */
export const DEVELOPMENT_STORAGE_BLOB_PORT = 10000;
export const DEVELOPMENT_STORAGE_QUEUE_PORT = 10001;
export const DEVELOPMENT_STORAGE_TABLE_PORT = 10002;
/** The emulator's well-known account: public and identical on every machine, so not a secret. */
export const DEVELOPMENT_STORAGE_ACCOUNT_NAME = 'devstoreaccount1';
export const DEVELOPMENT_STORAGE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const DEFAULT_ENDPOINT_SUFFIX = 'core.windows.net';

export interface StorageEndpoints {
  readonly blob: string;
  readonly queue: string;
  readonly table: string;
}

export interface ParsedConnectionString {
  /** Canonical connection string with explicit endpoints. Holds the secret: never log it. */
  readonly connectionString: string;
  /** Service endpoints without credentials; safe to log. */
  readonly endpoints: StorageEndpoints;
}

export type ConnectionStringResult =
  | { readonly ok: true; readonly value: ParsedConnectionString }
  | { readonly ok: false; readonly rule: string };

const KNOWN_KEYS = [
  'DefaultEndpointsProtocol',
  'AccountName',
  'AccountKey',
  'SharedAccessSignature',
  'EndpointSuffix',
  'BlobEndpoint',
  'QueueEndpoint',
  'TableEndpoint',
  'FileEndpoint',
  'UseDevelopmentStorage',
] as const;
type KnownKey = (typeof KNOWN_KEYS)[number];

function fail(rule: string): ConnectionStringResult {
  return { ok: false, rule };
}

function canonicalKey(key: string): KnownKey | undefined {
  const lower = key.trim().toLowerCase();
  return KNOWN_KEYS.find((k) => k.toLowerCase() === lower);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function stripTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

export function developmentStorageConnection(): ParsedConnectionString {
  const base = 'http://127.0.0.1';
  const account = DEVELOPMENT_STORAGE_ACCOUNT_NAME;
  const endpoints: StorageEndpoints = {
    blob: `${base}:${DEVELOPMENT_STORAGE_BLOB_PORT}/${account}`,
    queue: `${base}:${DEVELOPMENT_STORAGE_QUEUE_PORT}/${account}`,
    table: `${base}:${DEVELOPMENT_STORAGE_TABLE_PORT}/${account}`,
  };
  return {
    connectionString: render(
      { protocol: 'http', accountName: account, accountKey: DEVELOPMENT_STORAGE_ACCOUNT_KEY },
      endpoints,
    ),
    endpoints,
  };
}

type Credential =
  | { readonly protocol: string; readonly accountName: string; readonly accountKey: string }
  | { readonly sas: string };

function render(credential: Credential, endpoints: StorageEndpoints): string {
  const endpointParts = [
    `BlobEndpoint=${endpoints.blob}`,
    `QueueEndpoint=${endpoints.queue}`,
    `TableEndpoint=${endpoints.table}`,
  ];
  if ('sas' in credential) return [...endpointParts, `SharedAccessSignature=${credential.sas}`].join(';');
  return [
    `DefaultEndpointsProtocol=${credential.protocol}`,
    `AccountName=${credential.accountName}`,
    `AccountKey=${credential.accountKey}`,
    ...endpointParts,
  ].join(';');
}

/**
 * Returns a rule (never the input, which holds a secret) when the string is not usable.
 * Accepts `UseDevelopmentStorage=true`, account-key strings and SAS strings, as the Functions host does.
 */
export function parseStorageConnectionString(raw: string): ConnectionStringResult {
  const parts = new Map<KnownKey, string>();
  for (const segment of raw.split(';')) {
    if (segment.trim() === '') continue; // A trailing ';' is common in copied strings.
    const eq = segment.indexOf('=');
    if (eq <= 0) return fail("must be key=value pairs separated by ';'");
    const key = canonicalKey(segment.slice(0, eq));
    // The unknown key is not echoed: a malformed string can put part of a secret where a key should be.
    if (key === undefined) return fail(`may only use the keys ${KNOWN_KEYS.join(', ')}`);
    if (parts.has(key)) return fail(`names ${key} more than once`);
    parts.set(key, segment.slice(eq + 1).trim());
  }
  if (parts.size === 0) return fail('must not be empty');

  const dev = parts.get('UseDevelopmentStorage');
  if (dev !== undefined) {
    if (dev.toLowerCase() !== 'true') return fail('UseDevelopmentStorage may only be "true"');
    if (parts.size > 1) return fail('UseDevelopmentStorage=true cannot be combined with other keys');
    return { ok: true, value: developmentStorageConnection() };
  }

  const accountName = parts.get('AccountName');
  const accountKey = parts.get('AccountKey');
  const sas = parts.get('SharedAccessSignature');
  const protocolRaw = parts.get('DefaultEndpointsProtocol');
  const protocol = protocolRaw?.toLowerCase() ?? 'https';
  if (protocol !== 'https' && protocol !== 'http')
    return fail('DefaultEndpointsProtocol must be https or http');
  const suffix = parts.get('EndpointSuffix') ?? DEFAULT_ENDPOINT_SUFFIX;

  let credential: Credential;
  if (accountKey !== undefined && sas !== undefined) {
    return fail('must contain AccountKey or SharedAccessSignature, not both');
  } else if (accountKey !== undefined) {
    if (!accountName) return fail('must contain AccountName with AccountKey');
    if (accountKey === '') return fail('AccountKey must not be empty');
    credential = { protocol, accountName, accountKey };
  } else if (sas !== undefined) {
    if (sas === '') return fail('SharedAccessSignature must not be empty');
    credential = { sas: sas.startsWith('?') ? sas.slice(1) : sas };
  } else {
    return fail('must contain AccountName and AccountKey, or SharedAccessSignature');
  }

  const endpoint = (key: 'BlobEndpoint' | 'QueueEndpoint' | 'TableEndpoint', service: string) => {
    const explicit = parts.get(key);
    if (explicit !== undefined) return explicit;
    // Derivation from the account name is what the SDKs do for account-key strings.
    if (accountName && 'accountKey' in credential) return `${protocol}://${accountName}.${service}.${suffix}`;
    return undefined;
  };
  const blob = endpoint('BlobEndpoint', 'blob');
  const queue = endpoint('QueueEndpoint', 'queue');
  const table = endpoint('TableEndpoint', 'table');
  if (blob === undefined || queue === undefined || table === undefined) {
    return fail('a SharedAccessSignature string must name BlobEndpoint, QueueEndpoint and TableEndpoint');
  }
  for (const [key, url] of [
    ['BlobEndpoint', blob],
    ['QueueEndpoint', queue],
    ['TableEndpoint', table],
  ] as const) {
    if (!isHttpUrl(url)) return fail(`${key} must be an http(s) URL`);
  }
  const endpoints: StorageEndpoints = {
    blob: stripTrailingSlash(blob),
    queue: stripTrailingSlash(queue),
    table: stripTrailingSlash(table),
  };
  return { ok: true, value: { connectionString: render(credential, endpoints), endpoints } };
}
