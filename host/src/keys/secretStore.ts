// Port: where the host's secrets file lives. Writes are conditional so that two hosts starting at
// once against the same storage agree on one set of keys.
import type { StoredHostSecrets } from './hostKeys';

export interface StoredSecretsVersion {
  readonly secrets: StoredHostSecrets;
  /** Opaque version token (an ETag for blobs). */
  readonly version: string;
}

export interface SecretStore {
  /** Human-readable location, for the startup log ("where to read the keys"). */
  readonly location: string;
  read(): Promise<StoredSecretsVersion | undefined>;
  /**
   * Writes if the stored version is still `expectedVersion` (undefined: only if nothing is stored).
   * Returns false when someone else wrote first.
   */
  write(secrets: StoredHostSecrets, expectedVersion: string | undefined): Promise<boolean>;
}

/** Keeps secrets in memory: used when no storage is configured, and in tests. */
export class MemorySecretStore implements SecretStore {
  readonly location = 'memory (regenerated at every start)';
  private stored: StoredSecretsVersion | undefined;
  private counter = 0;

  read(): Promise<StoredSecretsVersion | undefined> {
    return Promise.resolve(this.stored);
  }

  write(secrets: StoredHostSecrets, expectedVersion: string | undefined): Promise<boolean> {
    if (this.stored?.version !== expectedVersion) return Promise.resolve(false);
    this.stored = { secrets, version: String(++this.counter) };
    return Promise.resolve(true);
  }
}
