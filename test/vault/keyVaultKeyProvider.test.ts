// The Key Vault KeyProvider against a fake Key Vault (real RSA-OAEP-256 in node:crypto, several key
// versions, injectable RestError-shaped failures). Nothing here contacts the network.
import {
  constants,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import {
  keyVaultErrorKind,
  keyVaultKeyProvider,
  type KeyVaultKeyOps,
} from '../../shared/vault/keyVaultKeyProvider';
import type { WrappedKey } from '../../shared/vault';

const VAULT_URI = 'https://strongbox-kv.vault.azure.net';
const KEY_NAME = 'strongbox-kek';
const CTX = { vaultId: 'ab'.repeat(16) };

/** Shaped like @azure/core-rest-pipeline's RestError: classification reads only these fields. */
function restError(statusCode: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'RestError', statusCode, code });
}

interface Call {
  op: 'getKey' | 'wrapKey' | 'unwrapKey';
  keyId?: string;
}

class FakeKeyVault implements KeyVaultKeyOps {
  readonly versions = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();
  current = '';
  keyType = 'RSA';
  readonly calls: Call[] = [];
  /** The next call fails with this error (once). */
  failNext: Error | undefined;

  constructor() {
    this.rotate();
  }

  rotate(): string {
    const version = randomBytes(16).toString('hex');
    this.current = `${VAULT_URI}/keys/${KEY_NAME}/${version}`;
    this.versions.set(this.current, generateKeyPairSync('rsa', { modulusLength: 2048 }));
    return this.current;
  }

  private take(call: Call): void {
    this.calls.push(call);
    const err = this.failNext;
    this.failNext = undefined;
    if (err !== undefined) throw err;
  }

  private pairOf(keyId: string) {
    const pair = this.versions.get(keyId);
    if (!pair)
      throw restError(404, 'KeyNotFound', `A key with (name/id) ${keyId} was not found in this key vault.`);
    return pair;
  }

  getKey() {
    this.take({ op: 'getKey' });
    return Promise.resolve({ keyId: this.current, keyType: this.keyType });
  }

  wrapKey(keyId: string, plaintext: Uint8Array) {
    this.take({ op: 'wrapKey', keyId });
    const { publicKey } = this.pairOf(keyId);
    return Promise.resolve(
      publicEncrypt(
        { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        plaintext,
      ),
    );
  }

  unwrapKey(keyId: string, wrapped: Uint8Array) {
    this.take({ op: 'unwrapKey', keyId });
    const { privateKey } = this.pairOf(keyId);
    try {
      return Promise.resolve(
        privateDecrypt(
          { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
          wrapped,
        ),
      );
    } catch {
      return Promise.reject(restError(400, 'BadParameter', 'Invalid ciphertext'));
    }
  }
}

function setup() {
  const kv = new FakeKeyVault();
  const provider = keyVaultKeyProvider(kv, { vaultUri: VAULT_URI, keyName: KEY_NAME });
  return { kv, provider };
}

function envelopeOf(w: WrappedKey): Record<string, unknown> {
  return JSON.parse(Buffer.from(w.wrapped).toString('utf8')) as Record<string, unknown>;
}

function withEnvelope(w: WrappedKey, patch: Record<string, unknown>): WrappedKey {
  return { keyId: w.keyId, wrapped: Buffer.from(JSON.stringify({ ...envelopeOf(w), ...patch }), 'utf8') };
}

describe('keyVaultKeyProvider', () => {
  it('round-trips a data key and writes the documented envelope with the versioned key id', async () => {
    const { kv, provider } = setup();
    const dataKey = randomBytes(32);
    const wrapped = await provider.wrap(dataKey, CTX);
    expect(provider.name).toBe('azure-key-vault');
    expect(wrapped.keyId).toMatch(/^[0-9a-f]{32}$/);
    const env = envelopeOf(wrapped);
    expect(Object.keys(env).sort()).toEqual(['alg', 'ct', 'kid', 'provider', 'v']);
    expect(env).toMatchObject({ v: 1, provider: 'azure-key-vault', alg: 'RSA-OAEP-256', kid: kv.current });
    // A 2048-bit RSA key gives 256 bytes of ciphertext; the data key is not in the envelope.
    expect(Buffer.from(env.ct as string, 'base64')).toHaveLength(256);
    expect(Buffer.from(wrapped.wrapped).includes(dataKey)).toBe(false);
    expect((await provider.unwrap(wrapped, CTX)).equals(dataKey)).toBe(true);
    expect(kv.calls.map((c) => c.op)).toEqual(['getKey', 'wrapKey', 'unwrapKey']);
  });

  it('refuses to unwrap under another vault id or another key id (KEY.UNWRAP_FAILED)', async () => {
    const { provider } = setup();
    const wrapped = await provider.wrap(randomBytes(32), CTX);
    await expect(provider.unwrap(wrapped, { vaultId: 'cd'.repeat(16) })).rejects.toMatchObject({
      code: 'KEY.UNWRAP_FAILED',
      message: expect.stringContaining('bound to another vault') as unknown,
    });
    await expect(provider.unwrap({ ...wrapped, keyId: 'ef'.repeat(16) }, CTX)).rejects.toMatchObject({
      code: 'KEY.UNWRAP_FAILED',
    });
  });

  it('unwraps an envelope from before a key rotation with its own key version', async () => {
    const { kv, provider } = setup();
    const oldKey = randomBytes(32);
    const before = await provider.wrap(oldKey, CTX);
    const oldKid = kv.current;
    const newKid = kv.rotate();
    const newKey = randomBytes(32);
    const after = await provider.wrap(newKey, CTX);
    expect(envelopeOf(before).kid).toBe(oldKid);
    expect(envelopeOf(after).kid).toBe(newKid);
    expect((await provider.unwrap(before, CTX)).equals(oldKey)).toBe(true);
    expect((await provider.unwrap(after, CTX)).equals(newKey)).toBe(true);
    expect(kv.calls.filter((c) => c.op === 'unwrapKey').map((c) => c.keyId)).toEqual([oldKid, newKid]);
  });

  it('answers a ciphertext swapped between key versions with KEY.UNWRAP_FAILED', async () => {
    const { kv, provider } = setup();
    const before = await provider.wrap(randomBytes(32), CTX);
    const newKid = kv.rotate();
    await expect(provider.unwrap(withEnvelope(before, { kid: newKid }), CTX)).rejects.toMatchObject({
      code: 'KEY.UNWRAP_FAILED',
    });
  });

  it('never sends a token to a Key Vault other than the configured one', async () => {
    const { kv, provider } = setup();
    const wrapped = await provider.wrap(randomBytes(32), CTX);
    const elsewhere = `https://attacker.vault.azure.net/keys/${KEY_NAME}/${'0'.repeat(32)}`;
    const calls = kv.calls.length;
    await expect(provider.unwrap(withEnvelope(wrapped, { kid: elsewhere }), CTX)).rejects.toMatchObject({
      code: 'KEY.UNWRAP_FAILED',
    });
    expect(kv.calls).toHaveLength(calls);
  });

  it('refuses malformed envelopes (KEY.INVALID_WRAPPED_KEY) without calling Key Vault', async () => {
    const { kv, provider } = setup();
    const wrapped = await provider.wrap(randomBytes(32), CTX);
    const calls = kv.calls.length;
    for (const bad of [
      { keyId: wrapped.keyId, wrapped: Buffer.from('not json') },
      withEnvelope(wrapped, { provider: 'local-key-file' }),
      withEnvelope(wrapped, { alg: 'RSA-OAEP' }),
      withEnvelope(wrapped, { v: 2 }),
      withEnvelope(wrapped, { kid: `${VAULT_URI}/keys/${KEY_NAME}` }),
      withEnvelope(wrapped, { kid: 'http://strongbox-kv.vault.azure.net/keys/strongbox-kek/abc' }),
      withEnvelope(wrapped, { ct: 1 }),
    ]) {
      await expect(provider.unwrap(bad, CTX)).rejects.toMatchObject({ code: 'KEY.INVALID_WRAPPED_KEY' });
    }
    expect(kv.calls).toHaveLength(calls);
  });

  it('refuses a key that is not RSA, or an id Key Vault returns for another key', async () => {
    const { kv, provider } = setup();
    kv.keyType = 'EC';
    await expect(provider.wrap(randomBytes(32), CTX)).rejects.toMatchObject({
      code: 'KEY.KEK_UNUSABLE',
      message: expect.stringContaining('RSA') as unknown,
    });
    kv.keyType = 'RSA-HSM';
    kv.current = `${VAULT_URI}/keys/other-key/${'1'.repeat(32)}`;
    await expect(provider.wrap(randomBytes(32), CTX)).rejects.toMatchObject({ code: 'KEY.KEK_UNUSABLE' });
  });

  describe('error translation', () => {
    it.each([
      [403, 'Forbidden', 'KEY.ACCESS_DENIED'],
      [401, 'Unauthorized', 'KEY.ACCESS_DENIED'],
      [404, 'KeyNotFound', 'KEY.KEK_NOT_FOUND'],
      [429, 'Throttled', 'KEY.TRANSIENT'],
      [500, 'InternalServerError', 'KEY.TRANSIENT'],
      [503, 'ServiceUnavailable', 'KEY.TRANSIENT'],
    ])('wrap: %i %s becomes %s', async (status, sdkCode, code) => {
      const { kv, provider } = setup();
      kv.failNext = restError(status, sdkCode, `status ${status}`);
      await expect(provider.wrap(randomBytes(32), CTX)).rejects.toMatchObject({ code });
    });

    it('names the identity, the operations and the key on 403', async () => {
      const { kv, provider } = setup();
      const wrapped = await provider.wrap(randomBytes(32), CTX);
      kv.failNext = restError(403, 'Forbidden', 'Caller is not authorized to perform action on resource.');
      const err = (await provider.unwrap(wrapped, CTX).catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('KEY.ACCESS_DENIED');
      expect(err.message).toContain("the Function App's identity lacks wrapKey/unwrapKey on Key Vault key");
      expect(err.message).toContain(kv.current);
      expect(err.cause).toMatchObject({ statusCode: 403 });
    });

    it('unwrap: 404 (the version was purged) is KEY.KEK_NOT_FOUND, 503 is KEY.TRANSIENT', async () => {
      const { kv, provider } = setup();
      const wrapped = await provider.wrap(randomBytes(32), CTX);
      kv.failNext = restError(503, 'ServiceUnavailable', 'busy');
      await expect(provider.unwrap(wrapped, CTX)).rejects.toMatchObject({ code: 'KEY.TRANSIENT' });
      kv.versions.clear();
      await expect(provider.unwrap(wrapped, CTX)).rejects.toMatchObject({ code: 'KEY.KEK_NOT_FOUND' });
    });

    it('classifies network, abort and identity errors, and anything else as unusable', () => {
      const net = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      expect(keyVaultErrorKind(net)).toBe('transient');
      expect(keyVaultErrorKind(Object.assign(new Error('x'), { name: 'AbortError' }))).toBe('transient');
      expect(
        keyVaultErrorKind(Object.assign(new Error('no IMDS'), { name: 'CredentialUnavailableError' })),
      ).toBe('denied');
      expect(keyVaultErrorKind(restError(400, 'BadParameter', 'x'))).toBe('badCiphertext');
      expect(keyVaultErrorKind(new Error("Key ... can't be used before ..."))).toBe('other');
      expect(keyVaultErrorKind('string')).toBe('other');
    });
  });
});
