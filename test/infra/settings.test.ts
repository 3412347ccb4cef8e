// Every setting the code reads must be set locally and in Azure, and the Bicep must keep its security
// properties. The Bicep CLI is not available here, so these checks read the text (see ./bicep.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_SETTING_NAMES, loadConfig } from '../../shared/config/config';
import {
  appSettingsOf,
  blocksOf,
  literal,
  missingAppSettings,
  paramsOf,
  propertiesOf,
  resourcesOf,
  roleDefinitionGuids,
  stripComments,
} from './bicep';

const root = path.join(__dirname, '..', '..');
const bicep = fs.readFileSync(path.join(root, 'infra', 'main.bicep'), 'utf8');
const code = stripComments(bicep);
const sample = JSON.parse(fs.readFileSync(path.join(root, 'local.settings.sample.json'), 'utf8')) as {
  IsEncrypted?: unknown;
  Values?: Record<string, unknown>;
  Host?: { LocalHttpPort?: unknown };
};
const parameters = JSON.parse(fs.readFileSync(path.join(root, 'infra', 'main.parameters.json'), 'utf8')) as {
  parameters: Record<string, { value: unknown }>;
};

/**
 * Settings the code reads that must NOT be Azure app settings, each with the reason and the test below that
 * checks what replaces it. Keep this list short: everything else must be in appSettings.
 */
const NOT_APP_SETTINGS: Readonly<Record<string, string>> = {
  // The host prefers an AzureWebJobsStorage value to the __ settings, so none is set, not even an empty one.
  AzureWebJobsStorage: 'replaced by the identity-based AzureWebJobsStorage__* settings',
  // Flex Consumption lists it as an unsupported app setting; the runtime block names node instead.
  FUNCTIONS_WORKER_RUNTIME: 'set by functionAppConfig.runtime on Flex Consumption',
  // Local only: a deployed app verifies Entra ID tokens against STRONGBOX_AUTH_JWKS_URI, and loadConfig
  // refuses both together (shared/config/config.test.ts, 'refuses a local key directory ...').
  STRONGBOX_LOCAL_AUTH_DIR: 'replaced by STRONGBOX_AUTH_JWKS_URI (Entra ID signing keys)',
};
/** Settings Azure reads for us (the Functions host's App Insights client), not shared/config. */
const PLATFORM_SETTINGS = [
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

const ROLES = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
};

/** The body of `resource <symbol> '<type>@…' = { … }`. */
function resourceBody(symbol: string): string {
  const m = new RegExp(`^resource\\s+${symbol}\\s+'[^']+'\\s*=\\s*\\{`, 'm').exec(code);
  if (m === null) throw new Error(`No resource ${symbol}`);
  const props = blocksOf(code.slice(m.index), 'properties', '{')[0];
  if (props === undefined) throw new Error(`Resource ${symbol} has no properties`);
  return code.slice(m.index, m.index + m[0].length) + props;
}

function symbolOfType(type: string): string {
  const symbols = [...resourcesOf(bicep)].filter(([, t]) => t.startsWith(`${type}@`)).map(([s]) => s);
  if (symbols.length !== 1) throw new Error(`Expected one ${type}, found ${symbols.length}`);
  return symbols[0] ?? '';
}

describe('local.settings.sample.json', () => {
  const values = sample.Values ?? {};

  it.each(CONFIG_SETTING_NAMES)('sets %s', (name) => {
    expect(Object.keys(values)).toContain(name);
  });

  it('sets nothing the code does not read', () => {
    expect(
      Object.keys(values).filter((k) => !(CONFIG_SETTING_NAMES as readonly string[]).includes(k)),
    ).toEqual([]);
  });

  it('is a valid local configuration on Azurite', () => {
    const env = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
    const config = loadConfig(env);
    expect(config.storage.kind).toBe('connectionString');
    expect(config.storage.endpoints.blob).toBe('http://127.0.0.1:10000/devstoreaccount1');
    expect(values.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');
    expect(values.FUNCTIONS_WORKER_RUNTIME).toBe('node');
  });

  it('has the local host settings', () => {
    expect(sample.IsEncrypted).toBe(false);
    expect(sample.Host?.LocalHttpPort).toBe(7071);
  });
});

describe('infra/main.bicep app settings', () => {
  // Read inside each test, so a Bicep the reader refuses fails those tests with the reader's message.
  const settings = () => appSettingsOf(bicep);
  const valueOf = (name: string) => settings().find((s) => s.name === name)?.value;
  const inAzure = CONFIG_SETTING_NAMES.filter((name) => !(name in NOT_APP_SETTINGS));

  it.each(inAzure)('sets %s', (name) => {
    expect(missingAppSettings(bicep, [name])).toEqual([]);
  });

  it.each(Object.keys(NOT_APP_SETTINGS))('does not set %s', (name) => {
    expect(valueOf(name)).toBeUndefined();
  });

  it('sets no setting twice and nothing unknown', () => {
    const names = settings().map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    const known = new Set<string>([...CONFIG_SETTING_NAMES, ...PLATFORM_SETTINGS]);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });

  it('connects to storage with the user-assigned identity', () => {
    const identity = symbolOfType('Microsoft.ManagedIdentity/userAssignedIdentities');
    const storage = symbolOfType('Microsoft.Storage/storageAccounts');
    expect(literal(valueOf('AzureWebJobsStorage__credential'))).toBe('managedidentity');
    expect(valueOf('AzureWebJobsStorage__clientId')).toBe(`${identity}.properties.clientId`);
    for (const service of ['blob', 'queue', 'table']) {
      expect(valueOf(`AzureWebJobsStorage__${service}ServiceUri`)).toBe(
        `${storage}.properties.primaryEndpoints.${service}`,
      );
    }
  });

  it('sends telemetry with an Entra token of the same identity', () => {
    const identity = symbolOfType('Microsoft.ManagedIdentity/userAssignedIdentities');
    expect(valueOf('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toBe(
      `'ClientId=\${${identity}.properties.clientId};Authorization=AAD'`,
    );
    expect(resourceBody(symbolOfType('Microsoft.Insights/components'))).toMatch(/DisableLocalAuth:\s*true/);
  });

  it('never puts a storage key anywhere', () => {
    expect(code).not.toMatch(/listKeys\s*\(/);
    expect(code).not.toMatch(/AccountKey=/i);
  });
});

describe('infra/main.bicep resources', () => {
  it('disables shared key access and public blob access on the storage account', () => {
    const storage = resourceBody(symbolOfType('Microsoft.Storage/storageAccounts'));
    expect(storage).toMatch(/^\s*allowSharedKeyAccess:\s*false\s*$/m);
    expect(storage).toMatch(/^\s*allowBlobPublicAccess:\s*false\s*$/m);
    expect(storage).toMatch(/^\s*minimumTlsVersion:\s*'TLS1_2'\s*$/m);
    expect(storage).toMatch(/^\s*supportsHttpsTrafficOnly:\s*true\s*$/m);
    expect(code).not.toMatch(/allowSharedKeyAccess:\s*true/);
  });

  it('runs Node 20 on a Flex Consumption plan', () => {
    const runtime = blocksOf(code, 'runtime', '{');
    expect(runtime).toHaveLength(1);
    const props = propertiesOf(runtime[0] ?? '');
    expect(literal(props.get('name'))).toBe('node');
    expect(literal(props.get('version'))).toBe('20');
    const plan = resourceBody(symbolOfType('Microsoft.Web/serverfarms'));
    expect(code).toMatch(/sku:\s*\{\s*name:\s*'FC1'\s*tier:\s*'FlexConsumption'\s*\}/);
    expect(plan).toMatch(/reserved:\s*true/);
  });

  it('uses a Microsoft.Web/sites API version that supports functionAppConfig (2023-12-01 or later)', () => {
    const version = resourcesOf(bicep).get(symbolOfType('Microsoft.Web/sites'))?.split('@')[1] ?? '';
    expect(version >= '2023-12-01').toBe(true);
  });

  it('gives the app only a user-assigned identity, also for the deployment container', () => {
    const identity = symbolOfType('Microsoft.ManagedIdentity/userAssignedIdentities');
    const identityBlocks = blocksOf(code, 'identity', '{');
    expect(identityBlocks).toHaveLength(1);
    expect(literal(propertiesOf(identityBlocks[0] ?? '').get('type'))).toBe('UserAssigned');
    expect(identityBlocks[0]).toContain(`'\${${identity}.id}': {}`);
    const auth = blocksOf(code, 'authentication', '{');
    expect(auth).toHaveLength(1);
    const authProps = propertiesOf(auth[0] ?? '');
    expect(literal(authProps.get('type'))).toBe('UserAssignedIdentity');
    expect(authProps.get('userAssignedIdentityResourceId')).toBe(`${identity}.id`);
    expect(code).not.toMatch(/SystemAssigned/);
  });

  it('assigns the three storage data roles and Monitoring Metrics Publisher to that identity', () => {
    expect(roleDefinitionGuids(bicep).sort()).toEqual(Object.values(ROLES).sort());
    const identity = symbolOfType('Microsoft.ManagedIdentity/userAssignedIdentities');
    const principals = [...code.matchAll(/principalId:\s*(\S+)/g)].map((m) => m[1]);
    expect(principals).toEqual(Object.values(ROLES).map(() => `${identity}.properties.principalId`));
  });

  it('offers LRS, ZRS and GRS redundancy with LRS as the default', () => {
    const param = paramsOf(bicep).get('storageRedundancy');
    expect(param?.allowed).toEqual(['LRS', 'ZRS', 'GRS']);
    expect(literal(param?.defaultValue)).toBe('LRS');
    expect(code).toContain("name: 'Standard_${storageRedundancy}'");
  });

  it('declares location and namePrefix parameters and outputs the app name and hostname', () => {
    const params = paramsOf(bicep);
    expect(params.get('location')?.defaultValue).toBe('resourceGroup().location');
    expect(params.has('namePrefix')).toBe(true);
    expect(code).toMatch(/^output functionAppName string = \w+\.name$/m);
    expect(code).toMatch(/^output functionAppHostName string = \w+\.properties\.defaultHostName$/m);
  });

  it('has a parameters file that matches the declared parameters', () => {
    const params = paramsOf(bicep);
    const given = Object.keys(parameters.parameters);
    expect(given.filter((name) => !params.has(name))).toEqual([]);
    const required = [...params].filter(([, p]) => p.defaultValue === undefined).map(([name]) => name);
    expect(required.filter((name) => !given.includes(name))).toEqual([]);
  });
});

describe('the Bicep reader itself', () => {
  const entry = (name: string) =>
    new RegExp(`\\n\\s*\\{\\s*(//[^\\n]*\\s*)?name: '${name}'\\s*value: [^\\n]+\\s*\\}`, 'm');

  it('notices a removed setting', () => {
    const without = bicep.replace(entry('STRONGBOX_AUTH_AUDIENCE'), '');
    expect(without).not.toBe(bicep);
    expect(
      missingAppSettings(
        without,
        CONFIG_SETTING_NAMES.filter((n) => !(n in NOT_APP_SETTINGS)),
      ),
    ).toEqual(['STRONGBOX_AUTH_AUDIENCE']);
  });

  it('does not count a setting that is only mentioned in a comment', () => {
    const commented = bicep.replace(entry('STRONGBOX_KEY_VAULT_URI'), "\n// name: 'STRONGBOX_KEY_VAULT_URI'");
    expect(missingAppSettings(commented, ['STRONGBOX_KEY_VAULT_URI'])).toEqual(['STRONGBOX_KEY_VAULT_URI']);
  });

  it('refuses entries it cannot read instead of skipping them', () => {
    const computed = bicep.replace("name: 'STRONGBOX_AUTH_ISSUER'", "name: 'STRONGBOX_${'AUTH'}_ISSUER'");
    expect(() => appSettingsOf(computed)).toThrow(/without a literal name/);
    const spread = bicep.replace(/appSettings: \[/, 'appSettings: [\n        ...extraSettings');
    expect(() => appSettingsOf(spread)).toThrow(/other than an object/);
    const loop = bicep.replace(/appSettings: \[/, 'appSettings: [for s in extra: s]\n      other: [');
    expect(() => appSettingsOf(loop)).toThrow();
  });
});
