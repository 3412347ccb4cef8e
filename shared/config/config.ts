// The one place that reads the environment (STYLE §10). Everything else receives a StrongboxConfig.
import { z } from 'zod';
import {
  parseStorageConnectionString,
  type ParsedConnectionString,
  type StorageEndpoints,
} from './storageConnectionString';

/**
 * Azure: a container name is at most 63 characters. Capping the prefix at 27 leaves room for a 36-character
 * UUID after it.
 */
export const VAULT_CONTAINER_PREFIX_MAX_CHARS = 27;
export const DEFAULT_VAULT_CONTAINER_PREFIX = 'vault-';
/** Under the app root and git-ignored (.gitignore lists .strongbox/). */
export const DEFAULT_LOCAL_AUTH_DIR = '.strongbox/auth';
/** Token issuer and audience of the local signing key when STRONGBOX_AUTH_ISSUER/AUDIENCE are not set. */
export const LOCAL_AUTH_ISSUER = 'strongbox-local';
export const LOCAL_AUTH_AUDIENCE = 'api://strongbox-local';
/** The Key Vault key that wraps vault keys when STRONGBOX_KEY_VAULT_KEY_NAME is not set. */
export const DEFAULT_KEY_VAULT_KEY_NAME = 'strongbox-kek';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Azure: container names use lowercase letters, digits and single hyphens, and start with a letter or digit.
const CONTAINER_PREFIX = /^[a-z0-9](?:-?[a-z0-9])*-?$/;
const NO_WHITESPACE = /^\S+$/;

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

const httpsUrl = (why: string) =>
  z.string().refine(isHttpsUrl, { error: `must be an absolute https:// URL (${why})` });

/** Field rules. Keys are the exact setting names; rules across settings are in `crossSettingIssues`. */
const SETTINGS_SHAPE = {
  AzureWebJobsStorage: z
    .string()
    .transform((value, ctx): ParsedConnectionString => {
      const parsed = parseStorageConnectionString(value);
      if (parsed.ok) return parsed.value;
      // The rule never quotes the value: it holds an account key or SAS.
      ctx.addIssue({ code: 'custom', message: parsed.rule });
      return z.NEVER;
    })
    .optional(),
  AzureWebJobsStorage__blobServiceUri: httpsUrl('bearer tokens are only sent over TLS').optional(),
  AzureWebJobsStorage__queueServiceUri: httpsUrl('bearer tokens are only sent over TLS').optional(),
  AzureWebJobsStorage__tableServiceUri: httpsUrl('bearer tokens are only sent over TLS').optional(),
  AzureWebJobsStorage__credential: z
    .string()
    // The Functions host compares this case-insensitively.
    .refine((v) => v.toLowerCase() === 'managedidentity', {
      error:
        "must be 'managedidentity' (Strongbox does not use a credential chain such as DefaultAzureCredential)",
    })
    .optional(),
  AzureWebJobsStorage__clientId: z
    .string()
    .regex(GUID, { error: 'must be a GUID (the client ID of the user-assigned managed identity)' })
    .optional(),
  STRONGBOX_VAULT_CONTAINER_PREFIX: z
    .string()
    .max(VAULT_CONTAINER_PREFIX_MAX_CHARS, {
      error: `must be at most ${VAULT_CONTAINER_PREFIX_MAX_CHARS} characters (container names are at most 63)`,
    })
    .regex(CONTAINER_PREFIX, {
      error: 'must be lowercase letters, digits and single hyphens, starting with a letter or digit',
    })
    .default(DEFAULT_VAULT_CONTAINER_PREFIX),
  STRONGBOX_AUTH_ISSUER: z.string().regex(NO_WHITESPACE, { error: 'must not contain whitespace' }).optional(),
  STRONGBOX_AUTH_AUDIENCE: z
    .string()
    .regex(NO_WHITESPACE, { error: 'must not contain whitespace' })
    .optional(),
  STRONGBOX_AUTH_JWKS_URI: httpsUrl('signing keys must be fetched over TLS').optional(),
  // Local only: where the laptop's token-signing key pair lives (relative paths are from the app root).
  STRONGBOX_LOCAL_AUTH_DIR: z.string().default(DEFAULT_LOCAL_AUTH_DIR),
  STRONGBOX_KEY_VAULT_URI: httpsUrl('Key Vault only accepts TLS').optional(),
  // Key Vault: 1-127 letters, digits and hyphens. Used only with STRONGBOX_KEY_VAULT_URI.
  STRONGBOX_KEY_VAULT_KEY_NAME: z
    .string()
    .regex(/^[0-9A-Za-z-]{1,127}$/, {
      error: 'must be 1 to 127 letters, digits and hyphens (a Key Vault key name)',
    })
    .default(DEFAULT_KEY_VAULT_KEY_NAME),
  STRONGBOX_LOCAL_KEY_FILE: z.string().optional(),
  // VM protection: register refuses VMs with more data disks (Azure VM backup supports 32).
  STRONGBOX_VM_MAX_DATA_DISKS: z.coerce
    .number({ error: 'must be a whole number of data disks' })
    .int({ error: 'must be a whole number of data disks' })
    .min(0, { error: 'must be 0 to 256' })
    .max(256, { error: 'must be 0 to 256' })
    .optional(),
  // Offline seeding in Azure: where Import/Export jobs are created (ARM). All three or none; none means
  // no production ImportService (offline seeding answers OfflineSeedingUnavailable in Azure).
  STRONGBOX_IMPORT_SUBSCRIPTION_ID: z
    .string()
    .regex(GUID, { error: 'must be a GUID (the subscription of the Import/Export jobs)' })
    .optional(),
  // ARM: a resource group name is 1-90 letters, digits, '-', '_', '.', '(' and ')', not ending in '.'.
  STRONGBOX_IMPORT_RESOURCE_GROUP: z
    .string()
    .regex(/^[-\w.()]{0,89}[-\w()]$/, { error: 'must be a resource group name (1-90 characters)' })
    .optional(),
  STRONGBOX_IMPORT_LOCATION: z
    .string()
    .regex(/^[a-z0-9]+$/, { error: "must be an Azure region name such as 'westeurope'" })
    .optional(),
  // Flex Consumption sets the runtime in functionAppConfig, not as an app setting, so absence means node.
  FUNCTIONS_WORKER_RUNTIME: z.literal('node', { error: "must be 'node'" }).default('node'),
};

export type ConfigSettingName = keyof typeof SETTINGS_SHAPE;

/** Every environment variable loadConfig reads; tests check the sample settings and the Bicep against it. */
export const CONFIG_SETTING_NAMES: readonly ConfigSettingName[] = Object.freeze(
  Object.keys(SETTINGS_SHAPE) as ConfigSettingName[],
);

const IDENTITY_SETTINGS = [
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
] as const satisfies readonly ConfigSettingName[];

export type StorageConnection =
  | {
      readonly kind: 'connectionString';
      /** Canonical form with explicit endpoints. Holds the account key or SAS: never log it. */
      readonly connectionString: string;
      readonly endpoints: StorageEndpoints;
    }
  | {
      readonly kind: 'managedIdentity';
      readonly endpoints: StorageEndpoints;
      /** Client ID of a user-assigned identity; absent means the system-assigned identity. */
      readonly clientId?: string;
    };

export interface StrongboxConfig {
  readonly storage: StorageConnection;
  readonly vaultContainerPrefix: string;
  /**
   * Token validation settings. Absent only on a laptop (storage by connection string) with no auth settings;
   * a deployed app (managed-identity storage) must have all three.
   */
  readonly auth?: {
    readonly issuer: string;
    readonly audience: string;
    readonly jwksUri?: string;
  };
  /**
   * How API tokens are verified: Entra ID's (or another issuer's) JWKS when STRONGBOX_AUTH_JWKS_URI is set,
   * else the local key pair in `dir`. Local mode is only possible with connection-string storage, because
   * managed-identity storage requires the JWKS URI.
   */
  readonly tokenValidation:
    | { readonly kind: 'jwks'; readonly issuer: string; readonly audience: string; readonly jwksUri: string }
    | { readonly kind: 'localKey'; readonly issuer: string; readonly audience: string; readonly dir: string };
  readonly keys: {
    readonly keyVaultUri?: string;
    /** The RSA key in keyVaultUri that wraps vault keys; loadConfig sets it with keyVaultUri (default strongbox-kek). */
    readonly keyVaultKeyName?: string;
    /**
     * Client id of the user-assigned identity that calls Key Vault: the app's one identity
     * (AzureWebJobsStorage__clientId), set with keyVaultUri. Absent means the system-assigned identity.
     */
    readonly identityClientId?: string;
    readonly localKeyFile?: string;
  };
  /** VM protection settings; absent values take the defaults in shared/vm/vmLimits.ts. */
  readonly vm: {
    readonly maxDataDisks?: number;
  };
  /** Where Azure Import/Export jobs live (and the storage account they import into); absent: not configured. */
  readonly importExport?: {
    readonly subscriptionId: string;
    readonly resourceGroup: string;
    readonly location: string;
  };
  readonly functionsWorkerRuntime: 'node';
}

export interface ConfigIssue {
  readonly setting: ConfigSettingName;
  readonly rule: string;
}

/** Thrown by loadConfig. The message names each setting and rule, never a value (values can be secrets). */
export class ConfigError extends Error {
  readonly code = 'CONFIG.INVALID';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.setting}: ${i.rule}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Settings = z.output<z.ZodObject<typeof SETTINGS_SHAPE>>;
type PickedSettings = Partial<Record<ConfigSettingName, string>>;

const AUTH_SETTINGS = [
  'STRONGBOX_AUTH_ISSUER',
  'STRONGBOX_AUTH_AUDIENCE',
  'STRONGBOX_AUTH_JWKS_URI',
] as const satisfies readonly ConfigSettingName[];

const IMPORT_SETTINGS = [
  'STRONGBOX_IMPORT_SUBSCRIPTION_ID',
  'STRONGBOX_IMPORT_RESOURCE_GROUP',
  'STRONGBOX_IMPORT_LOCATION',
] as const satisfies readonly ConfigSettingName[];

const SERVICE_URI_SETTINGS = [
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
] as const satisfies readonly ConfigSettingName[];

/**
 * Rules across settings. They look only at which settings are present, so they run alongside the field
 * rules and one error lists every problem.
 */
function crossSettingIssues(s: PickedSettings): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // The Functions host uses AzureWebJobsStorage when it has a value and the __ settings only otherwise;
  // we follow the same precedence so the app and the host always talk to the same account.
  if (s.AzureWebJobsStorage === undefined) {
    if (!IDENTITY_SETTINGS.some((name) => s[name] !== undefined)) {
      issues.push({
        setting: 'AzureWebJobsStorage',
        rule:
          'is required: a connection string (or UseDevelopmentStorage=true), unless the identity-based ' +
          'AzureWebJobsStorage__* settings are set',
      });
    } else {
      for (const name of SERVICE_URI_SETTINGS) {
        if (s[name] === undefined) {
          issues.push({
            setting: name,
            rule: 'is required with identity-based storage (blob, queue and table)',
          });
        }
      }
      if (s.AzureWebJobsStorage__credential === undefined) {
        issues.push({
          setting: 'AzureWebJobsStorage__credential',
          rule: "is required with identity-based storage and must be 'managedidentity'",
        });
      }
      // Managed-identity storage means the app runs in Azure, where every caller must be authenticated.
      for (const name of AUTH_SETTINGS) {
        if (s[name] === undefined) {
          issues.push({
            setting: name,
            rule: 'is required when storage uses a managed identity (a deployed app must verify tokens)',
          });
        }
      }
    }
  }
  // Locally auth may be left out entirely, but half a configuration is a mistake, not a choice.
  const authSet = AUTH_SETTINGS.filter((name) => s[name] !== undefined);
  if (authSet.length > 0) {
    for (const name of ['STRONGBOX_AUTH_ISSUER', 'STRONGBOX_AUTH_AUDIENCE'] as const) {
      if (s[name] === undefined && !issues.some((i) => i.setting === name)) {
        issues.push({
          setting: name,
          rule: `is required when ${authSet.join(' and ')} ${authSet.length > 1 ? 'are' : 'is'} set`,
        });
      }
    }
  }
  if (s.STRONGBOX_LOCAL_AUTH_DIR !== undefined && s.STRONGBOX_AUTH_JWKS_URI !== undefined) {
    issues.push({
      setting: 'STRONGBOX_LOCAL_AUTH_DIR',
      rule: 'must not be set together with STRONGBOX_AUTH_JWKS_URI (tokens are verified against one key source)',
    });
  }
  if (s.STRONGBOX_KEY_VAULT_URI !== undefined && s.STRONGBOX_LOCAL_KEY_FILE !== undefined) {
    issues.push({
      setting: 'STRONGBOX_LOCAL_KEY_FILE',
      rule: 'must not be set together with STRONGBOX_KEY_VAULT_URI (one key-encryption key source)',
    });
  }
  const importSettings = IMPORT_SETTINGS.filter((name) => s[name] !== undefined);
  if (importSettings.length > 0) {
    for (const name of IMPORT_SETTINGS) {
      if (s[name] === undefined) {
        issues.push({
          setting: name,
          rule: `is required when ${importSettings.join(' and ')} ${importSettings.length > 1 ? 'are' : 'is'} set`,
        });
      }
    }
  }
  return issues;
}

const trimSlash = (url: string) => url.replace(/\/$/, '');

/** Builds the connection from settings that passed every rule. */
function toStorage(s: Settings): StorageConnection {
  if (s.AzureWebJobsStorage !== undefined) return { kind: 'connectionString', ...s.AzureWebJobsStorage };
  const { AzureWebJobsStorage__blobServiceUri: blob, AzureWebJobsStorage__queueServiceUri: queue } = s;
  const table = s.AzureWebJobsStorage__tableServiceUri;
  if (blob === undefined || queue === undefined || table === undefined) {
    throw new Error('unreachable: crossSettingIssues requires all three service URIs');
  }
  const endpoints = { blob: trimSlash(blob), queue: trimSlash(queue), table: trimSlash(table) };
  const clientId = s.AzureWebJobsStorage__clientId;
  return clientId === undefined
    ? { kind: 'managedIdentity', endpoints }
    : { kind: 'managedIdentity', endpoints, clientId };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads, validates and freezes the configuration. Blank values count as unset, because Azure app settings
 * and local.settings.json often carry empty placeholders. Throws ConfigError listing every broken rule.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): StrongboxConfig {
  const picked: PickedSettings = {};
  for (const name of CONFIG_SETTING_NAMES) {
    const value = env[name]?.trim();
    if (value) picked[name] = value;
  }
  const result = z.object(SETTINGS_SHAPE).safeParse(picked);
  const issues: ConfigIssue[] = result.success
    ? []
    : result.error.issues.map((issue) => ({
        setting: issue.path[0] as ConfigSettingName,
        rule: issue.message,
      }));
  issues.push(...crossSettingIssues(picked));
  if (!result.success || issues.length > 0) {
    // Report in declaration order, so the message reads like the settings list.
    const order = (issue: ConfigIssue) => CONFIG_SETTING_NAMES.indexOf(issue.setting);
    throw new ConfigError([...issues].sort((a, b) => order(a) - order(b)));
  }
  const s = result.data;

  const config: StrongboxConfig = {
    storage: toStorage(s),
    vaultContainerPrefix: s.STRONGBOX_VAULT_CONTAINER_PREFIX,
    ...(s.STRONGBOX_AUTH_ISSUER !== undefined && s.STRONGBOX_AUTH_AUDIENCE !== undefined
      ? {
          auth: {
            issuer: s.STRONGBOX_AUTH_ISSUER,
            audience: s.STRONGBOX_AUTH_AUDIENCE,
            ...(s.STRONGBOX_AUTH_JWKS_URI !== undefined ? { jwksUri: s.STRONGBOX_AUTH_JWKS_URI } : {}),
          },
        }
      : {}),
    tokenValidation:
      s.STRONGBOX_AUTH_JWKS_URI !== undefined &&
      s.STRONGBOX_AUTH_ISSUER !== undefined &&
      s.STRONGBOX_AUTH_AUDIENCE !== undefined
        ? {
            kind: 'jwks',
            issuer: s.STRONGBOX_AUTH_ISSUER,
            audience: s.STRONGBOX_AUTH_AUDIENCE,
            jwksUri: s.STRONGBOX_AUTH_JWKS_URI,
          }
        : {
            kind: 'localKey',
            issuer: s.STRONGBOX_AUTH_ISSUER ?? LOCAL_AUTH_ISSUER,
            audience: s.STRONGBOX_AUTH_AUDIENCE ?? LOCAL_AUTH_AUDIENCE,
            dir: s.STRONGBOX_LOCAL_AUTH_DIR,
          },
    keys: {
      // The key name and identity only mean something with a Key Vault.
      ...(s.STRONGBOX_KEY_VAULT_URI !== undefined
        ? {
            keyVaultUri: s.STRONGBOX_KEY_VAULT_URI,
            keyVaultKeyName: s.STRONGBOX_KEY_VAULT_KEY_NAME,
            ...(s.AzureWebJobsStorage__clientId !== undefined
              ? { identityClientId: s.AzureWebJobsStorage__clientId }
              : {}),
          }
        : {}),
      ...(s.STRONGBOX_LOCAL_KEY_FILE !== undefined ? { localKeyFile: s.STRONGBOX_LOCAL_KEY_FILE } : {}),
    },
    vm: {
      ...(s.STRONGBOX_VM_MAX_DATA_DISKS !== undefined ? { maxDataDisks: s.STRONGBOX_VM_MAX_DATA_DISKS } : {}),
    },
    ...(s.STRONGBOX_IMPORT_SUBSCRIPTION_ID !== undefined &&
    s.STRONGBOX_IMPORT_RESOURCE_GROUP !== undefined &&
    s.STRONGBOX_IMPORT_LOCATION !== undefined
      ? {
          importExport: {
            subscriptionId: s.STRONGBOX_IMPORT_SUBSCRIPTION_ID,
            resourceGroup: s.STRONGBOX_IMPORT_RESOURCE_GROUP,
            location: s.STRONGBOX_IMPORT_LOCATION,
          },
        }
      : {}),
    functionsWorkerRuntime: s.FUNCTIONS_WORKER_RUNTIME,
  };
  return deepFreeze(config);
}
