// The real KeyVaultKeyOps: @azure/keyvault-keys with the app's managed identity. A module of its own,
// and not exported from shared/vault/index.ts, so that loading the vault does not load the Azure
// identity and Key Vault SDKs (~0.2 s of start-up for every CLI run, benchmark step and worker
// that never talks to Key Vault).
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import {
  KEY_VAULT_WRAP_ALGORITHM,
  type KeyVaultKeyOps,
  type KeyVaultKeyProviderOptions,
} from './keyVaultKeyProvider';

export interface AzureKeyVaultKeyOpsOptions extends KeyVaultKeyProviderOptions {
  /** Client id of a user-assigned managed identity; absent means the system-assigned identity. */
  clientId?: string;
  /** For tests of the wiring only; production always uses the managed identity. */
  credential?: TokenCredential;
}

/** KeyVaultKeyOps over @azure/keyvault-keys. Constructing it contacts nothing. */
export function azureKeyVaultKeyOps(opts: AzureKeyVaultKeyOpsOptions): KeyVaultKeyOps {
  const credential =
    opts.credential ??
    (opts.clientId !== undefined
      ? new ManagedIdentityCredential({ clientId: opts.clientId })
      : new ManagedIdentityCredential());
  const keys = new KeyClient(opts.vaultUri, credential);
  // One client per key version: a CryptographyClient caches the key it was built for.
  const clients = new Map<string, CryptographyClient>();
  const clientFor = (keyId: string): CryptographyClient => {
    let client = clients.get(keyId);
    if (!client) {
      client = new CryptographyClient(keyId, credential);
      clients.set(keyId, client);
    }
    return client;
  };
  return {
    async getKey() {
      const key = await keys.getKey(opts.keyName);
      return { keyId: key.id ?? '', keyType: key.keyType ?? '' };
    },
    async wrapKey(keyId, plaintext) {
      return (await clientFor(keyId).wrapKey(KEY_VAULT_WRAP_ALGORITHM, plaintext)).result;
    },
    async unwrapKey(keyId, wrapped) {
      return (await clientFor(keyId).unwrapKey(KEY_VAULT_WRAP_ALGORITHM, wrapped)).result;
    },
  };
}
