// Reads the host's keys, generating and storing them at first start. A second host racing on the
// same storage loses the conditional write and re-reads, so both end up with the same keys.
import {
  HostKeysError,
  newHostSecrets,
  toHostKeys,
  withRequiredKeys,
  type HostKeyOverrides,
  type HostKeys,
} from './hostKeys';
import type { SecretStore } from './secretStore';

const MAX_WRITE_ATTEMPTS = 5;

export interface LoadedHostKeys {
  readonly keys: HostKeys;
  /** True when this start generated (some of) the stored keys. */
  readonly generated: boolean;
}

export async function loadHostKeys(
  store: SecretStore,
  hostName: string,
  overrides: HostKeyOverrides = {},
): Promise<LoadedHostKeys> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await store.read();
    if (!current) {
      const fresh = newHostSecrets(hostName);
      if (await store.write(fresh, undefined)) return { keys: toHostKeys(fresh, overrides), generated: true };
      continue;
    }
    const { secrets, changed } = withRequiredKeys(current.secrets);
    if (!changed) return { keys: toHostKeys(secrets, overrides), generated: false };
    if (await store.write(secrets, current.version)) {
      return { keys: toHostKeys(secrets, overrides), generated: true };
    }
  }
  throw new HostKeysError(
    'KEYS.STORE_CONFLICT',
    `Could not store the host keys after ${MAX_WRITE_ATTEMPTS} attempts (${store.location} keeps changing)`,
  );
}
