// Where a control-plane vault keeps its data-plane vaults (docs/format.md): one blob container per
// (subscription, vault, partition). A partition separates data with different keys: `vm` holds the VM
// backups, encrypted with the vault's service-managed data key; `server-<id>` holds what one on-prem
// helper backs up, encrypted with that server's passphrase, which the service never sees.
import { createHash } from 'node:crypto';

/** Hex characters of the hash in a container name: 128 bits, so names never collide in practice. */
export const VAULT_CONTAINER_HASH_CHARS = 32;

export type VaultPartition = 'vm' | `server-${string}`;

/**
 * The container name. Hashed because Azure container names are at most 63 lowercase characters and
 * vault names are neither lowercase-only nor short enough; the prefix (at most 27 characters,
 * config.ts) keeps Strongbox's containers together and the result at most 59 characters.
 */
export function vaultContainerName(
  prefix: string,
  subscriptionId: string,
  vaultName: string,
  partition: VaultPartition,
): string {
  // Names are case-insensitive in the API (ARM), so the container must not depend on case.
  const key = [subscriptionId, vaultName, partition].map((s) => s.toLowerCase()).join('\0');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, VAULT_CONTAINER_HASH_CHARS);
  return `${prefix}${hash}`;
}
