// Which KeyProvider wraps the VM data-plane vaults' master keys. Locally: a key-encryption key file
// (STRONGBOX_LOCAL_KEY_FILE, default .strongbox/keys/vm-kek under the app root, mode 0600, created on
// first use). Production would use Azure Key Vault (STRONGBOX_KEY_VAULT_URI): the KeyProvider port
// (shared/vault/keyProvider.ts) is all such an adapter needs, but none exists in this build and it
// needs a dependency this project does not have yet (@azure/keyvault-keys), so a configured Key Vault
// is refused at the first backup with a message saying so, never silently replaced by a local file.
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { StrongboxConfig } from '../config/config';
import { StrongboxError } from '../errors';
import { localKeyFileProvider, type KeyProvider } from '../vault';

/** Relative to the app root (the Functions host's working directory); .strongbox/ is git-ignored. */
export const DEFAULT_VM_KEK_FILE = '.strongbox/keys/vm-kek';

export const VM_KEY_ERROR = 'VM.KEY_PROVIDER_UNAVAILABLE';

export function vmKeyProvider(keys: StrongboxConfig['keys'], appRoot: string): KeyProvider {
  if (keys.keyVaultUri !== undefined) {
    throw new StrongboxError(
      VM_KEY_ERROR,
      'STRONGBOX_KEY_VAULT_URI is set, but this build has no Azure Key Vault KeyProvider adapter; ' +
        'set STRONGBOX_LOCAL_KEY_FILE instead (docs/vm-protection.md, "Keys")',
    );
  }
  const file = path.resolve(appRoot, keys.localKeyFile ?? DEFAULT_VM_KEK_FILE);
  // The provider creates the file (O_EXCL, 0600) but not its folder.
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return localKeyFileProvider(file);
}
