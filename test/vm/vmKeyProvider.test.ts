// vmKeyProvider picks Key Vault when STRONGBOX_KEY_VAULT_URI is set (built from config, contacting
// nothing until used) and the local key file otherwise. The Key Vault itself is faked at its seam.
import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../shared/config/config';
import type { KeyVaultKeyOps } from '../../shared/vault';
import { vmKeyProvider } from '../../shared/vm/vmKeyProvider';

const CLIENT_ID = '00000000-0000-0000-0000-0000000000aa';
const CTX = { vaultId: 'ab'.repeat(16) };

function fakeOps(vaultUri: string, keyName: string): KeyVaultKeyOps {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const oaep = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
  return {
    getKey: () =>
      Promise.resolve({ keyId: `${vaultUri}/keys/${keyName}/${'a1'.repeat(16)}`, keyType: 'RSA' }),
    wrapKey: (_kid, pt) => Promise.resolve(publicEncrypt({ key: publicKey, ...oaep }, pt)),
    unwrapKey: (_kid, ct) => Promise.resolve(privateDecrypt({ key: privateKey, ...oaep }, ct)),
  };
}

describe('vmKeyProvider', () => {
  it('uses Key Vault with the configured key name and the app identity when STRONGBOX_KEY_VAULT_URI is set', async () => {
    const config = loadConfig({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      AzureWebJobsStorage__clientId: CLIENT_ID,
      STRONGBOX_KEY_VAULT_URI: 'https://kv.vault.azure.net/',
      STRONGBOX_KEY_VAULT_KEY_NAME: 'vm-kek',
    });
    const seen: unknown[] = [];
    const provider = vmKeyProvider(config.keys, '/nonexistent', {
      keyVaultOps: (opts) => {
        seen.push(opts);
        return fakeOps('https://kv.vault.azure.net', opts.keyName);
      },
    });
    expect(seen).toEqual([
      { vaultUri: 'https://kv.vault.azure.net/', keyName: 'vm-kek', clientId: CLIENT_ID },
    ]);
    expect(provider.name).toBe('azure-key-vault');
    const dataKey = Buffer.alloc(32, 9);
    const wrapped = await provider.wrap(dataKey, CTX);
    expect((await provider.unwrap(wrapped, CTX)).equals(dataKey)).toBe(true);
  });

  it('defaults the key name to strongbox-kek, and builds the real SDK adapter without contacting Key Vault', () => {
    const config = loadConfig({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      STRONGBOX_KEY_VAULT_URI: 'https://kv.vault.azure.net',
    });
    expect(config.keys).toEqual({
      keyVaultUri: 'https://kv.vault.azure.net',
      keyVaultKeyName: 'strongbox-kek',
    });
    const seen: unknown[] = [];
    vmKeyProvider(config.keys, '/nonexistent', {
      keyVaultOps: (opts) => (seen.push(opts), fakeOps(opts.vaultUri, opts.keyName)),
    });
    expect(seen).toEqual([{ vaultUri: 'https://kv.vault.azure.net', keyName: 'strongbox-kek' }]);
    // The production path: ManagedIdentityCredential + KeyClient/CryptographyClient, all lazy.
    expect(vmKeyProvider(config.keys, '/nonexistent').name).toBe('azure-key-vault');
  });

  it('uses the local key file when no Key Vault is configured', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-vmkek-'));
    try {
      const provider = vmKeyProvider({ localKeyFile: 'keys/kek' }, dir);
      expect(provider.name).toBe('local-key-file');
      const wrapped = await provider.wrap(Buffer.alloc(32, 7), CTX);
      expect((await provider.unwrap(wrapped, CTX)).equals(Buffer.alloc(32, 7))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
