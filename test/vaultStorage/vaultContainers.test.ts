import { DEFAULT_VAULT_CONTAINER_PREFIX, VAULT_CONTAINER_PREFIX_MAX_CHARS } from '../../shared/config/config';
import { vaultContainerName } from '../../shared/vaultStorage/vaultContainers';

// Azure: 3-63 characters, lowercase letters, digits and single hyphens, starting with a letter or digit.
const CONTAINER_RULE = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

describe('vaultContainerName', () => {
  it('is a valid Azure container name even with the longest prefix', () => {
    const prefix = 'a'.repeat(VAULT_CONTAINER_PREFIX_MAX_CHARS - 1) + '-';
    const name = vaultContainerName(prefix, 'sub-1', 'A-Very-Long-Vault-Name-Of-Fifty-Characters-1234567', 'vm');
    expect(name).toMatch(CONTAINER_RULE);
    expect(name.length).toBeLessThanOrEqual(63);
  });

  it('ignores case (ARM names are case-insensitive) but separates subscriptions, vaults and partitions', () => {
    const p = DEFAULT_VAULT_CONTAINER_PREFIX;
    expect(vaultContainerName(p, 'Sub', 'Vault1', 'vm')).toBe(vaultContainerName(p, 'sub', 'vault1', 'vm'));
    const names = new Set([
      vaultContainerName(p, 'sub', 'vault1', 'vm'),
      vaultContainerName(p, 'sub2', 'vault1', 'vm'),
      vaultContainerName(p, 'sub', 'vault2', 'vm'),
      vaultContainerName(p, 'sub', 'vault1', 'server-abc'),
      // The separator keeps ("ab","c") apart from ("a","bc").
      vaultContainerName(p, 'ab', 'c', 'vm'),
      vaultContainerName(p, 'a', 'bc', 'vm'),
    ]);
    expect(names.size).toBe(6);
  });
});
