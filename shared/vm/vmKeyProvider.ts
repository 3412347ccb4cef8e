// Which KeyProvider wraps the VM data-plane vaults' master keys. In Azure: the RSA key
// STRONGBOX_KEY_VAULT_KEY_NAME (default strongbox-kek) in the Key Vault STRONGBOX_KEY_VAULT_URI, reached
// with the app's managed identity (shared/vault/keyVaultKeyProvider.ts). Locally: a key-encryption key
// file (STRONGBOX_LOCAL_KEY_FILE, default .strongbox/keys/vm-kek under the app root, mode 0600, created
// on first use). A configured Key Vault is never silently replaced by a local file: loadConfig refuses
// both settings together, and Key Vault failures surface as KEY.* errors at the first backup.
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_KEY_VAULT_KEY_NAME, type StrongboxConfig } from '../config/config';
import { azureKeyVaultKeyOps } from '../vault/azureKeyVaultKeyOps';
import { keyVaultKeyProvider, localKeyFileProvider, type KeyProvider, type KeyVaultKeyOps } from '../vault';

/** Relative to the app root (the Functions host's working directory); .strongbox/ is git-ignored. */
export const DEFAULT_VM_KEK_FILE = '.strongbox/keys/vm-kek';

/** No longer thrown by vmKeyProvider (Key Vault is supported); kept because the code is stable. */
export const VM_KEY_ERROR = 'VM.KEY_PROVIDER_UNAVAILABLE';

export interface VmKeyProviderSeams {
  /** Replaces the Key Vault SDK (tests); production builds azureKeyVaultKeyOps from `keys`. */
  keyVaultOps?: (opts: { vaultUri: string; keyName: string; clientId?: string }) => KeyVaultKeyOps;
}

export function vmKeyProvider(
  keys: StrongboxConfig['keys'],
  appRoot: string,
  seams: VmKeyProviderSeams = {},
): KeyProvider {
  if (keys.keyVaultUri !== undefined) {
    const target = {
      vaultUri: keys.keyVaultUri,
      keyName: keys.keyVaultKeyName ?? DEFAULT_KEY_VAULT_KEY_NAME,
      ...(keys.identityClientId !== undefined ? { clientId: keys.identityClientId } : {}),
    };
    const ops = (seams.keyVaultOps ?? azureKeyVaultKeyOps)(target);
    return keyVaultKeyProvider(ops, target);
  }
  const file = path.resolve(appRoot, keys.localKeyFile ?? DEFAULT_VM_KEK_FILE);
  // The provider creates the file (O_EXCL, 0600) but not its folder.
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return localKeyFileProvider(file);
}
