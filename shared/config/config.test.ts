import {
  CONFIG_SETTING_NAMES,
  ConfigError,
  DEFAULT_LOCAL_AUTH_DIR,
  DEFAULT_VAULT_CONTAINER_PREFIX,
  LOCAL_AUTH_AUDIENCE,
  LOCAL_AUTH_ISSUER,
  VAULT_CONTAINER_PREFIX_MAX_CHARS,
  loadConfig,
} from './config';
import { DEVELOPMENT_STORAGE_ACCOUNT_KEY, parseStorageConnectionString } from './storageConnectionString';

const AUTH = { STRONGBOX_AUTH_ISSUER: 'strongbox-local', STRONGBOX_AUTH_AUDIENCE: 'api://strongbox-local' };
const ACCOUNT_KEY = 'c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ==';
const ACCOUNT_STRING = `DefaultEndpointsProtocol=https;AccountName=strongboxsa;AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net`;
const CLIENT_ID = '11111111-2222-3333-4444-555555555555';
const IDENTITY = {
  AzureWebJobsStorage__blobServiceUri: 'https://strongboxsa.blob.core.windows.net',
  AzureWebJobsStorage__queueServiceUri: 'https://strongboxsa.queue.core.windows.net/',
  AzureWebJobsStorage__tableServiceUri: 'https://strongboxsa.table.core.windows.net',
  AzureWebJobsStorage__credential: 'managedidentity',
  AzureWebJobsStorage__clientId: CLIENT_ID,
  STRONGBOX_AUTH_JWKS_URI: 'https://login.microsoftonline.com/tenant/discovery/v2.0/keys',
};

/** Runs loadConfig and returns its issues as `SETTING: rule` lines; fails the test if it does not throw. */
function issuesOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.setting}: ${i.rule}`);
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('maps UseDevelopmentStorage=true to Azurite on 127.0.0.1:10000-10002 with the well-known account', () => {
    const config = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', ...AUTH });
    expect(config.storage).toEqual({
      kind: 'connectionString',
      connectionString:
        `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEVELOPMENT_STORAGE_ACCOUNT_KEY};` +
        'BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;' +
        'TableEndpoint=http://127.0.0.1:10002/devstoreaccount1',
      endpoints: {
        blob: 'http://127.0.0.1:10000/devstoreaccount1',
        queue: 'http://127.0.0.1:10001/devstoreaccount1',
        table: 'http://127.0.0.1:10002/devstoreaccount1',
      },
    });
  });

  it('applies defaults and leaves optional settings out', () => {
    const config = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', ...AUTH });
    expect(config.vaultContainerPrefix).toBe(DEFAULT_VAULT_CONTAINER_PREFIX);
    expect(config.functionsWorkerRuntime).toBe('node');
    expect(config.auth).toEqual({ issuer: 'strongbox-local', audience: 'api://strongbox-local' });
    expect(config.keys).toEqual({});
  });

  it('treats blank and whitespace-only values as unset', () => {
    const config = loadConfig({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      ...AUTH,
      STRONGBOX_VAULT_CONTAINER_PREFIX: '',
      STRONGBOX_AUTH_JWKS_URI: '   ',
      AzureWebJobsStorage__credential: '',
    });
    expect(config.vaultContainerPrefix).toBe('vault-');
    expect(config.auth?.jwksUri).toBeUndefined();
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ AzureWebJobsStorage: ACCOUNT_STRING, ...AUTH });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.storage)).toBe(true);
    expect(Object.isFrozen(config.storage.endpoints)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
    expect(Object.isFrozen(config.keys)).toBe(true);
  });

  it('reads only the settings it declares', () => {
    const config = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', ...AUTH, UNRELATED: 'x' });
    expect(JSON.stringify(config)).not.toContain('UNRELATED');
    expect(CONFIG_SETTING_NAMES).toEqual([
      'AzureWebJobsStorage',
      'AzureWebJobsStorage__blobServiceUri',
      'AzureWebJobsStorage__queueServiceUri',
      'AzureWebJobsStorage__tableServiceUri',
      'AzureWebJobsStorage__credential',
      'AzureWebJobsStorage__clientId',
      'STRONGBOX_VAULT_CONTAINER_PREFIX',
      'STRONGBOX_AUTH_ISSUER',
      'STRONGBOX_AUTH_AUDIENCE',
      'STRONGBOX_AUTH_JWKS_URI',
      'STRONGBOX_LOCAL_AUTH_DIR',
      'STRONGBOX_KEY_VAULT_URI',
      'STRONGBOX_KEY_VAULT_KEY_NAME',
      'STRONGBOX_LOCAL_KEY_FILE',
      'STRONGBOX_VM_MAX_DATA_DISKS',
      'STRONGBOX_IMPORT_SUBSCRIPTION_ID',
      'STRONGBOX_IMPORT_RESOURCE_GROUP',
      'STRONGBOX_IMPORT_LOCATION',
      'FUNCTIONS_WORKER_RUNTIME',
    ]);
  });

  describe('identity-based storage', () => {
    it('builds a managed-identity connection without trailing slashes', () => {
      const config = loadConfig({ ...IDENTITY, ...AUTH });
      expect(config.storage).toEqual({
        kind: 'managedIdentity',
        clientId: CLIENT_ID,
        endpoints: {
          blob: 'https://strongboxsa.blob.core.windows.net',
          queue: 'https://strongboxsa.queue.core.windows.net',
          table: 'https://strongboxsa.table.core.windows.net',
        },
      });
    });

    it('accepts the credential in any case, as the Functions host does', () => {
      expect(
        loadConfig({ ...IDENTITY, ...AUTH, AzureWebJobsStorage__credential: 'ManagedIdentity' }).storage.kind,
      ).toBe('managedIdentity');
    });

    it('omits clientId for the system-assigned identity', () => {
      const config = loadConfig({ ...IDENTITY, ...AUTH, AzureWebJobsStorage__clientId: undefined });
      expect(config.storage).not.toHaveProperty('clientId');
    });

    it('requires all three service URIs and the credential', () => {
      expect(
        issuesOf({
          AzureWebJobsStorage__blobServiceUri: IDENTITY.AzureWebJobsStorage__blobServiceUri,
          ...AUTH,
        }),
      ).toEqual([
        'AzureWebJobsStorage__queueServiceUri: is required with identity-based storage (blob, queue and table)',
        'AzureWebJobsStorage__tableServiceUri: is required with identity-based storage (blob, queue and table)',
        "AzureWebJobsStorage__credential: is required with identity-based storage and must be 'managedidentity'",
        'STRONGBOX_AUTH_JWKS_URI: is required when storage uses a managed identity (a deployed app must verify tokens)',
      ]);
    });

    it('rejects a credential other than managedidentity (no credential chains)', () => {
      expect(
        issuesOf({ ...IDENTITY, ...AUTH, AzureWebJobsStorage__credential: 'defaultazurecredential' }),
      ).toEqual([
        "AzureWebJobsStorage__credential: must be 'managedidentity' (Strongbox does not use a credential chain such as DefaultAzureCredential)",
      ]);
    });

    it('rejects http service URIs and a malformed client id', () => {
      expect(
        issuesOf({
          ...IDENTITY,
          ...AUTH,
          AzureWebJobsStorage__blobServiceUri: 'http://strongboxsa.blob.core.windows.net',
          AzureWebJobsStorage__clientId: 'not-a-guid',
        }),
      ).toEqual([
        'AzureWebJobsStorage__blobServiceUri: must be an absolute https:// URL (bearer tokens are only sent over TLS)',
        'AzureWebJobsStorage__clientId: must be a GUID (the client ID of the user-assigned managed identity)',
      ]);
    });

    it('requires STRONGBOX_AUTH_JWKS_URI when deployed with a managed identity', () => {
      expect(issuesOf({ ...IDENTITY, ...AUTH, STRONGBOX_AUTH_JWKS_URI: undefined })).toEqual([
        'STRONGBOX_AUTH_JWKS_URI: is required when storage uses a managed identity (a deployed app must verify tokens)',
      ]);
    });

    it('lets a connection string win over identity settings, like the Functions host', () => {
      const config = loadConfig({ ...IDENTITY, ...AUTH, AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
      expect(config.storage.kind).toBe('connectionString');
    });
  });

  describe('auth settings', () => {
    const local = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };

    it('may be left out entirely on a laptop', () => {
      expect(loadConfig(local).auth).toBeUndefined();
    });

    it('keeps the JWKS URI when given', () => {
      const jwks = IDENTITY.STRONGBOX_AUTH_JWKS_URI;
      expect(loadConfig({ ...local, ...AUTH, STRONGBOX_AUTH_JWKS_URI: jwks }).auth).toEqual({
        issuer: 'strongbox-local',
        audience: 'api://strongbox-local',
        jwksUri: jwks,
      });
    });

    it('rejects half a configuration', () => {
      expect(issuesOf({ ...local, STRONGBOX_AUTH_JWKS_URI: IDENTITY.STRONGBOX_AUTH_JWKS_URI })).toEqual([
        'STRONGBOX_AUTH_ISSUER: is required when STRONGBOX_AUTH_JWKS_URI is set',
        'STRONGBOX_AUTH_AUDIENCE: is required when STRONGBOX_AUTH_JWKS_URI is set',
      ]);
    });

    it('requires all three with managed-identity storage', () => {
      const rule = 'is required when storage uses a managed identity (a deployed app must verify tokens)';
      expect(issuesOf({ ...IDENTITY, STRONGBOX_AUTH_JWKS_URI: undefined })).toEqual([
        `STRONGBOX_AUTH_ISSUER: ${rule}`,
        `STRONGBOX_AUTH_AUDIENCE: ${rule}`,
        `STRONGBOX_AUTH_JWKS_URI: ${rule}`,
      ]);
    });
  });

  describe('token validation', () => {
    const local = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };

    it('uses the local key pair in .strongbox/auth with the local issuer and audience by default', () => {
      expect(loadConfig(local).tokenValidation).toEqual({
        kind: 'localKey',
        issuer: LOCAL_AUTH_ISSUER,
        audience: LOCAL_AUTH_AUDIENCE,
        dir: DEFAULT_LOCAL_AUTH_DIR,
      });
    });

    it('takes the directory and a configured issuer and audience for the local key', () => {
      expect(
        loadConfig({ ...local, ...AUTH, STRONGBOX_LOCAL_AUTH_DIR: '/tmp/keys' }).tokenValidation,
      ).toEqual({
        kind: 'localKey',
        issuer: 'strongbox-local',
        audience: 'api://strongbox-local',
        dir: '/tmp/keys',
      });
    });

    it('uses the JWKS when it is configured (always, with managed-identity storage)', () => {
      expect(loadConfig({ ...IDENTITY, ...AUTH }).tokenValidation).toEqual({
        kind: 'jwks',
        issuer: AUTH.STRONGBOX_AUTH_ISSUER,
        audience: AUTH.STRONGBOX_AUTH_AUDIENCE,
        jwksUri: IDENTITY.STRONGBOX_AUTH_JWKS_URI,
      });
    });

    it('refuses a local key directory together with a JWKS URI', () => {
      expect(issuesOf({ ...IDENTITY, ...AUTH, STRONGBOX_LOCAL_AUTH_DIR: '.strongbox/auth' })).toEqual([
        'STRONGBOX_LOCAL_AUTH_DIR: must not be set together with STRONGBOX_AUTH_JWKS_URI (tokens are verified against one key source)',
      ]);
    });
  });

  it('needs nothing but a storage connection to run locally', () => {
    const config = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    expect(config.storage.kind).toBe('connectionString');
  });

  it('requires a storage connection', () => {
    expect(issuesOf({ ...AUTH })).toEqual([
      'AzureWebJobsStorage: is required: a connection string (or UseDevelopmentStorage=true), unless the identity-based AzureWebJobsStorage__* settings are set',
    ]);
  });

  it('names every broken field rule at once', () => {
    expect(
      issuesOf({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        STRONGBOX_AUTH_AUDIENCE: 'has space',
        STRONGBOX_VAULT_CONTAINER_PREFIX: 'Vault_',
        STRONGBOX_KEY_VAULT_URI: 'http://kv.vault.azure.net',
        FUNCTIONS_WORKER_RUNTIME: 'python',
      }),
    ).toEqual([
      'STRONGBOX_VAULT_CONTAINER_PREFIX: must be lowercase letters, digits and single hyphens, starting with a letter or digit',
      'STRONGBOX_AUTH_ISSUER: is required when STRONGBOX_AUTH_AUDIENCE is set',
      'STRONGBOX_AUTH_AUDIENCE: must not contain whitespace',
      'STRONGBOX_KEY_VAULT_URI: must be an absolute https:// URL (Key Vault only accepts TLS)',
      "FUNCTIONS_WORKER_RUNTIME: must be 'node'",
    ]);
  });

  describe('STRONGBOX_VAULT_CONTAINER_PREFIX', () => {
    const withPrefix = (prefix: string) => ({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      ...AUTH,
      STRONGBOX_VAULT_CONTAINER_PREFIX: prefix,
    });

    it.each(['v', 'vault-', 'sb1-vault-', 'a'.repeat(VAULT_CONTAINER_PREFIX_MAX_CHARS)])(
      'accepts %s',
      (prefix) => {
        expect(loadConfig(withPrefix(prefix)).vaultContainerPrefix).toBe(prefix);
      },
    );

    it.each(['-vault', 'vault--', 'Vault-', 'vault_', 'a'.repeat(VAULT_CONTAINER_PREFIX_MAX_CHARS + 1)])(
      'rejects %s',
      (prefix) => {
        expect(issuesOf(withPrefix(prefix))).toHaveLength(1);
      },
    );
  });

  it('rejects both key sources at once', () => {
    expect(
      issuesOf({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        ...AUTH,
        STRONGBOX_KEY_VAULT_URI: 'https://kv.vault.azure.net',
        STRONGBOX_LOCAL_KEY_FILE: '.strongbox/kek',
      }),
    ).toEqual([
      'STRONGBOX_LOCAL_KEY_FILE: must not be set together with STRONGBOX_KEY_VAULT_URI (one key-encryption key source)',
    ]);
  });

  describe('Key Vault key', () => {
    const LOCAL = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', ...AUTH };

    it('defaults the key name to strongbox-kek', () => {
      expect(loadConfig({ ...LOCAL, STRONGBOX_KEY_VAULT_URI: 'https://kv.vault.azure.net' }).keys).toEqual({
        keyVaultUri: 'https://kv.vault.azure.net',
        keyVaultKeyName: 'strongbox-kek',
      });
    });

    it('takes the key name and, for Key Vault calls, the app identity client id', () => {
      const config = loadConfig({
        ...IDENTITY,
        ...AUTH,
        STRONGBOX_AUTH_JWKS_URI: 'https://login.example/keys',
        STRONGBOX_KEY_VAULT_URI: 'https://kv.vault.azure.net',
        STRONGBOX_KEY_VAULT_KEY_NAME: 'vm-kek-2',
      });
      expect(config.keys).toEqual({
        keyVaultUri: 'https://kv.vault.azure.net',
        keyVaultKeyName: 'vm-kek-2',
        identityClientId: CLIENT_ID,
      });
    });

    it.each(['kek_1', 'a'.repeat(128), 'kek/1'])('rejects the key name %s', (name) => {
      expect(issuesOf({ ...LOCAL, STRONGBOX_KEY_VAULT_KEY_NAME: name })).toEqual([
        'STRONGBOX_KEY_VAULT_KEY_NAME: must be 1 to 127 letters, digits and hyphens (a Key Vault key name)',
      ]);
    });
  });

  it('reads the Import/Export settings only as a set of three', () => {
    const importExport = {
      STRONGBOX_IMPORT_SUBSCRIPTION_ID: CLIENT_ID,
      STRONGBOX_IMPORT_RESOURCE_GROUP: 'rg-strongbox_(prod).1',
      STRONGBOX_IMPORT_LOCATION: 'westeurope',
    };
    const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
    expect(loadConfig(base).importExport).toBeUndefined();
    expect(loadConfig({ ...base, ...importExport }).importExport).toEqual({
      subscriptionId: CLIENT_ID,
      resourceGroup: 'rg-strongbox_(prod).1',
      location: 'westeurope',
    });
    expect(issuesOf({ ...base, STRONGBOX_IMPORT_LOCATION: 'westeurope' })).toEqual([
      'STRONGBOX_IMPORT_SUBSCRIPTION_ID: is required when STRONGBOX_IMPORT_LOCATION is set',
      'STRONGBOX_IMPORT_RESOURCE_GROUP: is required when STRONGBOX_IMPORT_LOCATION is set',
    ]);
    expect(
      issuesOf({
        ...base,
        STRONGBOX_IMPORT_SUBSCRIPTION_ID: 'not-a-guid',
        STRONGBOX_IMPORT_RESOURCE_GROUP: 'ends-with-dot.',
        STRONGBOX_IMPORT_LOCATION: 'West Europe',
      }),
    ).toEqual([
      'STRONGBOX_IMPORT_SUBSCRIPTION_ID: must be a GUID (the subscription of the Import/Export jobs)',
      'STRONGBOX_IMPORT_RESOURCE_GROUP: must be a resource group name (1-90 characters)',
      "STRONGBOX_IMPORT_LOCATION: must be an Azure region name such as 'westeurope'",
    ]);
  });

  it('never puts a setting value into the error message', () => {
    const broken = `AccountName=strongboxsa;AccountKey=${ACCOUNT_KEY};Bogus${ACCOUNT_KEY}=1`;
    let message = '';
    try {
      loadConfig({
        AzureWebJobsStorage: broken,
        ...AUTH,
        STRONGBOX_AUTH_JWKS_URI: 'http://jwks.example/secret-path',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('AzureWebJobsStorage: may only use the keys');
    expect(message).toContain('STRONGBOX_AUTH_JWKS_URI: must be an absolute https:// URL');
    expect(message).not.toContain(ACCOUNT_KEY);
    expect(message).not.toContain('secret-path');
  });
});

describe('parseStorageConnectionString', () => {
  it('renders explicit endpoints derived from the account name and suffix', () => {
    const parsed = parseStorageConnectionString(`${ACCOUNT_STRING};`);
    expect(parsed).toEqual({
      ok: true,
      value: {
        connectionString:
          `DefaultEndpointsProtocol=https;AccountName=strongboxsa;AccountKey=${ACCOUNT_KEY};` +
          'BlobEndpoint=https://strongboxsa.blob.core.windows.net;QueueEndpoint=https://strongboxsa.queue.core.windows.net;' +
          'TableEndpoint=https://strongboxsa.table.core.windows.net',
        endpoints: {
          blob: 'https://strongboxsa.blob.core.windows.net',
          queue: 'https://strongboxsa.queue.core.windows.net',
          table: 'https://strongboxsa.table.core.windows.net',
        },
      },
    });
  });

  it('normalises key casing and defaults the protocol to https', () => {
    const parsed = parseStorageConnectionString(`accountname=sa;accountkey=${ACCOUNT_KEY}`);
    expect(parsed.ok && parsed.value.connectionString).toBe(
      `DefaultEndpointsProtocol=https;AccountName=sa;AccountKey=${ACCOUNT_KEY};BlobEndpoint=https://sa.blob.core.windows.net;` +
        'QueueEndpoint=https://sa.queue.core.windows.net;TableEndpoint=https://sa.table.core.windows.net',
    );
  });

  it('keeps explicit Azurite-style endpoints', () => {
    const cs =
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEVELOPMENT_STORAGE_ACCOUNT_KEY};` +
      'BlobEndpoint=http://127.0.0.1:50001/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:50002/devstoreaccount1;' +
      'TableEndpoint=http://127.0.0.1:50003/devstoreaccount1';
    const parsed = parseStorageConnectionString(cs);
    expect(parsed.ok && parsed.value.endpoints).toEqual({
      blob: 'http://127.0.0.1:50001/devstoreaccount1',
      queue: 'http://127.0.0.1:50002/devstoreaccount1',
      table: 'http://127.0.0.1:50003/devstoreaccount1',
    });
  });

  it('accepts a SAS string that names all three endpoints', () => {
    const cs =
      'BlobEndpoint=https://sa.blob.core.windows.net/;QueueEndpoint=https://sa.queue.core.windows.net/;' +
      'FileEndpoint=https://sa.file.core.windows.net/;TableEndpoint=https://sa.table.core.windows.net/;' +
      'SharedAccessSignature=sv=2022-11-02&ss=bqt&sig=abc%3D';
    const parsed = parseStorageConnectionString(cs);
    expect(parsed.ok && parsed.value.connectionString).toBe(
      'BlobEndpoint=https://sa.blob.core.windows.net;QueueEndpoint=https://sa.queue.core.windows.net;' +
        'TableEndpoint=https://sa.table.core.windows.net;SharedAccessSignature=sv=2022-11-02&ss=bqt&sig=abc%3D',
    );
  });

  it.each([
    ['', 'must not be empty'],
    ['AccountName', "must be key=value pairs separated by ';'"],
    ['AccountName=sa', 'must contain AccountName and AccountKey, or SharedAccessSignature'],
    [`AccountKey=${ACCOUNT_KEY}`, 'must contain AccountName with AccountKey'],
    [`AccountName=sa;AccountKey=${ACCOUNT_KEY};AccountName=sb`, 'names AccountName more than once'],
    [
      `AccountName=sa;AccountKey=${ACCOUNT_KEY};DefaultEndpointsProtocol=ftp`,
      'DefaultEndpointsProtocol must be https or http',
    ],
    [
      `AccountName=sa;AccountKey=${ACCOUNT_KEY};BlobEndpoint=not a url`,
      'BlobEndpoint must be an http(s) URL',
    ],
    [
      `AccountName=sa;AccountKey=k;SharedAccessSignature=sig=x`,
      'must contain AccountKey or SharedAccessSignature, not both',
    ],
    [
      'BlobEndpoint=https://sa.blob.core.windows.net;SharedAccessSignature=sig=x',
      'a SharedAccessSignature string must name BlobEndpoint, QueueEndpoint and TableEndpoint',
    ],
    ['UseDevelopmentStorage=false', 'UseDevelopmentStorage may only be "true"'],
    [
      'UseDevelopmentStorage=true;AccountName=sa',
      'UseDevelopmentStorage=true cannot be combined with other keys',
    ],
  ])('rejects %j: %s', (input, rule) => {
    expect(parseStorageConnectionString(input)).toEqual({ ok: false, rule });
  });
});
