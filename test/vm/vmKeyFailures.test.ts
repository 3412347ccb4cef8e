// A vault key that cannot be used fails a VM job at once with VaultKeyUnavailable (and its remedy):
// the data-plane activities return permanent KEY.* failures as outcomes instead of throwing them into
// the activity retries. Transient Key Vault failures still throw, so they are retried.
import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt } from 'node:crypto';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { createVault, keyVaultKeyProvider, openVault, type KeyVaultKeyOps } from '../../shared/vault';
import { keyFailuresAsOutcome, ok, REMEDIATION } from '../../shared/vm/vmErrors';

const TARGET = { vaultUri: 'https://kv.vault.azure.net', keyName: 'strongbox-kek' };

function ops(unwrapFails?: { statusCode: number; code: string }): KeyVaultKeyOps {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const oaep = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
  return {
    getKey: () =>
      Promise.resolve({
        keyId: `${TARGET.vaultUri}/keys/${TARGET.keyName}/${'c3'.repeat(16)}`,
        keyType: 'RSA',
      }),
    wrapKey: (_kid, pt) => Promise.resolve(publicEncrypt({ key: publicKey, ...oaep }, pt)),
    unwrapKey: (_kid, ct) =>
      unwrapFails
        ? Promise.reject(Object.assign(new Error(`Key Vault says ${unwrapFails.statusCode}`), unwrapFails))
        : Promise.resolve(privateDecrypt({ key: privateKey, ...oaep }, ct)),
  };
}

async function vaultWith(fail: { statusCode: number; code: string }) {
  const store = new MemBlobStore();
  const good = ops();
  await createVault(store, keyVaultKeyProvider(good, TARGET));
  // The same key, but unwrap now fails as Key Vault would answer.
  const refusing = ops(fail);
  const failing: KeyVaultKeyOps = { ...good, unwrapKey: (kid, ct) => refusing.unwrapKey(kid, ct) };
  return () => openVault(store, keyVaultKeyProvider(failing, TARGET));
}

it('access denied (403) and a deleted key (404) become VaultKeyUnavailable with the remedy', async () => {
  for (const [fail, code] of [
    [{ statusCode: 403, code: 'Forbidden' }, 'KEY.ACCESS_DENIED'],
    [{ statusCode: 404, code: 'KeyNotFound' }, 'KEY.KEK_NOT_FOUND'],
  ] as const) {
    const open = await vaultWith(fail);
    const outcome = await keyFailuresAsOutcome(async () => ok(await open()));
    expect(outcome).toMatchObject({ ok: false, code: 'VaultKeyUnavailable' });
    expect((outcome as { message: string }).message).toContain(code);
    expect(REMEDIATION.VaultKeyUnavailable).toMatch(/unwrapKey/);
  }
});

it('a transient Key Vault failure (503) and any other error still throw, to be retried', async () => {
  const open = await vaultWith({ statusCode: 503, code: 'ServiceUnavailable' });
  await expect(keyFailuresAsOutcome(async () => ok(await open()))).rejects.toMatchObject({
    code: 'KEY.TRANSIENT',
  });
  await expect(keyFailuresAsOutcome(() => Promise.reject(new Error('socket hang up')))).rejects.toThrow(
    'socket hang up',
  );
  await expect(keyFailuresAsOutcome(() => Promise.resolve(ok(7)))).resolves.toEqual(ok(7));
});
