// Keys and the frozen format: wrong keys fail authentication with 0 bytes written, unknown format
// versions are refused, records and sealed blobs are bound to their vault, id and name, and keys
// never appear in plaintext.
import { stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { backup } from '../../shared/vault/backup';
import { decodeBlock, decodeUnsized, encodeBlock } from '../../shared/vault/blockCodec';
import { BlockOpenError, openBlock, sealBlock } from '../../shared/vault/blockRecord';
import { createVault } from '../../shared/vault/createVault';
import { CODEC_ID, SEALED_KIND } from '../../shared/vault/formatIds';
import { localKeyFileProvider } from '../../shared/vault/localKeyFileProvider';
import { openVault } from '../../shared/vault/openVault';
import { passphraseKeyProvider } from '../../shared/vault/passphraseKeyProvider';
import { openSealedBlob, sealBlob, SealedOpenError } from '../../shared/vault/sealedBlob';
import { restore } from '../../shared/vault/restore';
import { VAULT_KEYS } from '../../shared/vault/vault';
import {
  KIB,
  expectSameFile,
  expectVerifies,
  listAll,
  mixedImage,
  newVault,
  randomBytesSeeded,
  tempDir,
  textBytes,
  writeImage,
} from './vaultTestUtils';

/** Cheap scrypt for tests; the default (N=2^17) is exercised once below. */
const FAST_SCRYPT = { N: 2 ** 12, r: 8, p: 1 };
const PASS = 'correct horse battery staple';

describe('keys', () => {
  test('the key file is created with mode 0600, and a file others can read is refused', async () => {
    const dir = tempDir('kek');
    const kekPath = path.join(dir, 'kek.bin');
    await createVault(new MemBlobStore(), localKeyFileProvider(kekPath));
    expect((await stat(kekPath)).mode & 0o777).toBe(0o600);
    const loose = path.join(dir, 'loose.bin');
    await writeFile(loose, randomBytesSeeded(32, 'loose'), { mode: 0o644 });
    await expect(createVault(new MemBlobStore(), localKeyFileProvider(loose))).rejects.toMatchObject({
      code: 'KEY.KEK_UNUSABLE',
    });
  });

  test('a wrong key file fails with an authentication error and writes 0 bytes', async () => {
    const { vault } = await newVault();
    const dir = tempDir('wrongkey');
    const src = await writeImage(dir, 'disk.img', randomBytesSeeded(100 * KIB, 'k'));
    await backup(vault, { kind: 'diskImage', path: src });
    const out = tempDir('wrongkey-out');
    await expect(
      openVault(vault.store, localKeyFileProvider(path.join(tempDir('other'), 'kek.bin'))),
    ).rejects.toMatchObject({
      code: 'KEY.UNWRAP_FAILED',
    });
    expect(await listAll(out)).toEqual([]);
  });

  test('a wrapped key copied from another vault (same key file) fails authentication', async () => {
    const kek = path.join(tempDir('shared-kek'), 'kek.bin');
    const a = await createVault(new MemBlobStore(), localKeyFileProvider(kek));
    const b = await createVault(new MemBlobStore(), localKeyFileProvider(kek));
    const aKey = await a.store.get(VAULT_KEYS.keyBlob(a.config.key.id));
    await b.store.delete(VAULT_KEYS.keyBlob(b.config.key.id));
    await b.store.put(VAULT_KEYS.keyBlob(b.config.key.id), aKey.data);
    await expect(openVault(b.store, localKeyFileProvider(kek))).rejects.toMatchObject({
      code: 'KEY.UNWRAP_FAILED',
    });
  });

  test('passphrase provider: round trip, wrong passphrase, minimum length', async () => {
    const store = new MemBlobStore();
    await createVault(store, passphraseKeyProvider(PASS, FAST_SCRYPT));
    const vault = await openVault(store, passphraseKeyProvider(PASS, FAST_SCRYPT));
    expect(vault.config.key.provider).toBe('passphrase');
    await expect(openVault(store, passphraseKeyProvider(`${PASS}!`, FAST_SCRYPT))).rejects.toMatchObject({
      code: 'KEY.UNWRAP_FAILED',
    });
    expect(() => passphraseKeyProvider('fifteen chars..')).toThrow(
      expect.objectContaining({ code: 'KEY.WEAK_PASSPHRASE' }) as Error,
    );
  });

  test('passphrase provider with the default scrypt cost', async () => {
    const store = new MemBlobStore();
    await createVault(store, passphraseKeyProvider(PASS));
    const { data } = await store.get((await collectKeys(store, 'keys/'))[0]!);
    expect(JSON.parse(Buffer.from(data).toString())).toMatchObject({ kdf: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
    await openVault(store, passphraseKeyProvider(PASS));
  });

  test('keys never appear in plaintext: not in any stored blob, not in inspect or JSON', async () => {
    const { vault } = await newVault();
    const dir = tempDir('leak');
    await backup(vault, { kind: 'diskImage', path: await writeImage(dir, 'd.img', textBytes(200 * KIB, 1)) });
    const enc = vault.keys.encryptionKey;
    for (const key of await collectKeys(vault.store, '')) {
      expect(Buffer.from((await vault.store.get(key)).data).includes(enc)).toBe(false);
    }
    expect(inspect(vault, { depth: 5 })).not.toContain(enc.toString('hex'));
    expect(JSON.stringify(vault.keys)).toBe('"[VaultKeys redacted]"');
  });
});

describe('format', () => {
  test('a vault with an unknown format version is refused with a clear error', async () => {
    const { vault, provider } = await newVault();
    const config = JSON.parse(Buffer.from((await vault.store.get('config')).data).toString()) as {
      version: number;
    };
    config.version = 2;
    await vault.store.put('config', Buffer.from(JSON.stringify(config)));
    await expect(openVault(vault.store, provider)).rejects.toMatchObject({
      code: 'VAULT.UNSUPPORTED_FORMAT',
      message: expect.stringContaining('version 2 is not supported') as string,
    });
  });

  test('opening an empty store, or creating twice, gives the vault codes', async () => {
    const { vault, provider } = await newVault();
    await expect(openVault(new MemBlobStore(), provider)).rejects.toMatchObject({ code: 'VAULT.NOT_FOUND' });
    await expect(createVault(vault.store, provider)).rejects.toMatchObject({ code: 'VAULT.ALREADY_EXISTS' });
  });

  test('compression: random data is stored raw (codec 0), text is compressed (codec 1)', () => {
    expect(encodeBlock(randomBytesSeeded(64 * KIB, 'r'), 'auto').codec).toBe(CODEC_ID.NONE);
    const text = encodeBlock(textBytes(64 * KIB, 2), 'auto');
    expect(text.codec).toBe(CODEC_ID.BROTLI);
    expect(text.payload.length).toBeLessThan(64 * KIB * 0.6);
    expect(encodeBlock(textBytes(64 * KIB, 2), 'off').codec).toBe(CODEC_ID.NONE);
  });

  test('lz4 (codec 3): text is compressed and round-trips; a wrong length prefix or a cut payload fails', () => {
    const text = textBytes(64 * KIB, 2);
    const lz4 = encodeBlock(text, 'lz4');
    expect(lz4.codec).toBe(CODEC_ID.LZ4);
    expect(lz4.payload.readUInt32LE(0)).toBe(text.length); // frozen: u32 LE length, then an LZ4 block
    expect(lz4.payload.length).toBeLessThan(64 * KIB * 0.7);
    expect(decodeBlock(CODEC_ID.LZ4, lz4.payload, text.length).equals(text)).toBe(true);
    expect(decodeUnsized(CODEC_ID.LZ4, lz4.payload, text.length).equals(text)).toBe(true);
    expect(encodeBlock(randomBytesSeeded(64 * KIB, 'r'), 'lz4').codec).toBe(CODEC_ID.NONE);
    expect(encodeBlock(Buffer.alloc(0), 'lz4').codec).toBe(CODEC_ID.NONE);
    // A prefix that disagrees with the record, or claims more than allowed, is refused before decoding.
    expect(() => decodeBlock(CODEC_ID.LZ4, lz4.payload, text.length - 1)).toThrow('record says');
    expect(() => decodeUnsized(CODEC_ID.LZ4, lz4.payload, text.length - 1)).toThrow('more than');
    expect(() => decodeBlock(CODEC_ID.LZ4, lz4.payload.subarray(0, 3), 3)).toThrow('shorter');
    expect(() => decodeBlock(CODEC_ID.LZ4, lz4.payload.subarray(0, 1000), text.length)).toThrow('lz4');
    expect(() => decodeBlock(2, lz4.payload, text.length)).toThrow('unknown codec id 2');
  });

  test.each([
    ['lz4', 'lz4', CODEC_ID.LZ4],
    ['auto', 'brotli', CODEC_ID.BROTLI],
    ['off', 'none', CODEC_ID.NONE],
  ] as const)(
    'a vault created with compression %s says codec %s, round-trips and reopens',
    async (mode, name, id) => {
      const store = new MemBlobStore();
      const { vault, provider } = await newVault(store, { compression: mode });
      expect(vault.config.codec).toBe(name);
      const dir = tempDir('codec');
      const image = mixedImage(4 * 64 * KIB + 7, 5, 4096);
      const src = path.join(dir, 'src.img');
      await writeFile(src, image);
      const { pointId } = await backup(vault, { kind: 'diskImage', path: src });
      const reopened = await openVault(store, provider);
      expect(reopened.compression).toBe(mode);
      expect(encodeBlock(textBytes(64 * KIB, 2), reopened.compression).codec).toBe(id);
      const out = path.join(dir, 'out.img');
      await restore(reopened, pointId, out);
      await expectSameFile(out, image);
      await expectVerifies(reopened);
    },
  );

  test('new vaults default to lz4; Brotli vaults (created before it) keep writing Brotli', async () => {
    expect((await newVault()).vault.config.codec).toBe('lz4');
  });

  test('a block record is bound to its vault and its id; any edited byte fails', async () => {
    const { vault: a } = await newVault();
    const { vault: b } = await newVault();
    const plain = textBytes(10 * KIB, 3);
    const id = a.keys.blockIdOf(plain);
    const { record } = sealBlock(a.keys, a.vaultIdBytes, id, plain, 'auto');
    expect(openBlock(a.keys, a.vaultIdBytes, id, record).equals(plain)).toBe(true);
    // Another vault id (same keys): fails. Another id: fails. Each header byte and a tag byte: fails.
    expect(() => openBlock(a.keys, b.vaultIdBytes, id, record)).toThrow(BlockOpenError);
    expect(() => openBlock(b.keys, b.vaultIdBytes, id, record)).toThrow(BlockOpenError);
    expect(() => openBlock(a.keys, a.vaultIdBytes, a.keys.blockIdOf(Buffer.from('x')), record)).toThrow(
      BlockOpenError,
    );
    for (const at of [0, 1, 4, 5, 16, 17, record.length - 1]) {
      const bad = Buffer.from(record);
      bad[at]! ^= 1;
      expect(() => openBlock(a.keys, a.vaultIdBytes, id, bad)).toThrow(BlockOpenError);
    }
  });

  test('restores trust the id-bound GCM tag; the HMAC re-check (verify) catches a writer that sealed the wrong plaintext', async () => {
    const { vault } = await newVault();
    const plain = textBytes(10 * KIB, 4);
    const other = textBytes(10 * KIB, 5);
    const id = vault.keys.blockIdOf(plain);
    // A writer bug: `other` sealed under plain's id. Only a key holder can make such a record.
    const { record } = sealBlock(vault.keys, vault.vaultIdBytes, id, other, 'auto');
    expect(() => openBlock(vault.keys, vault.vaultIdBytes, id, record)).toThrow('block id does not match');
    expect(openBlock(vault.keys, vault.vaultIdBytes, id, record, { checkId: false }).equals(other)).toBe(
      true,
    );
    // Without the re-check, any edited byte or a foreign id still fails: the tag is the read check.
    const bad = Buffer.from(record);
    bad[bad.length - 20]! ^= 1;
    expect(() => openBlock(vault.keys, vault.vaultIdBytes, id, bad, { checkId: false })).toThrow(
      BlockOpenError,
    );
    expect(() =>
      openBlock(vault.keys, vault.vaultIdBytes, vault.keys.blockIdOf(other), record, { checkId: false }),
    ).toThrow(BlockOpenError);
  });

  test('a sealed blob is bound to its kind and its name', async () => {
    const { vault } = await newVault();
    const sealed = sealBlob(
      vault.keys,
      vault.vaultIdBytes,
      SEALED_KIND.RECOVERY_POINT,
      'p1',
      Buffer.from('{"a":1}'),
      'auto',
    );
    const open = (kind: 1 | 4, name: string) =>
      openSealedBlob(vault.keys, vault.vaultIdBytes, kind, name, sealed);
    expect(open(4, 'p1').toString()).toBe('{"a":1}');
    expect(() => open(4, 'p2')).toThrow(SealedOpenError);
    expect(() => open(1, 'p1')).toThrow(SealedOpenError);
  });

  test('a point blob copied under another name is unreadable, and verify says so', async () => {
    const { vault } = await newVault();
    const dir = tempDir('swap');
    const { pointId } = await backup(vault, {
      kind: 'diskImage',
      path: await writeImage(dir, 'd.img', textBytes(10 * KIB, 4)),
    });
    const { data } = await vault.store.get(VAULT_KEYS.point(pointId));
    await vault.store.put(VAULT_KEYS.point('0000000000001-000000000000'), data);
    const { verify } = await import('../../shared/vault/verify');
    const report = await verify(vault);
    expect(report.unreadablePoints).toEqual([
      { pointId: '0000000000001-000000000000', reason: expect.stringContaining('authentication') as string },
    ]);
    await vault.store.delete(VAULT_KEYS.point('0000000000001-000000000000'));
    await expectVerifies(vault);
  });
});

async function collectKeys(
  store: MemBlobStore | import('../../shared/blob/blobStore').BlobStore,
  prefix: string,
): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of store.list(prefix)) keys.push(key);
  return keys;
}
