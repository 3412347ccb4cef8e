// Per-drive encryption of one staged file (our BitLocker analogue, docs/offline-seeding.md):
//
//   magic "SBXDRV01" (8) | salt (16 random bytes) | chunk 0 | chunk 1 | … | chunk n-1
//   chunk i = AES-256-GCM(fileKey, nonce = 8 zero bytes ‖ u32be(i), plaintext ≤ 1 MiB) ‖ tag (16)
//   fileKey = HKDF-SHA256(driveKey, salt, "strongbox/v1/drive-file", 32)
//   AAD(i)  = "strongbox/v1/drive-chunk" 0x00 driveId 0x00 relPath 0x00 u32be(i) u8(final)
//
// A fresh random salt gives each file its own key, so counter nonces never repeat under one key.
// The AAD binds every chunk to the drive and the file's relative path (a file moved or swapped fails),
// to its position (reordered chunks fail), and marks the last chunk (truncation at a chunk boundary
// fails). An empty file is one empty final chunk (16 bytes of tag), so deleting its bytes is caught too.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';

/** Frozen: the first 8 bytes of every encrypted file, version 1. */
export const FILE_MAGIC = Buffer.from('SBXDRV01', 'ascii');
export const FILE_SALT_BYTES = 16;
export const FILE_HEADER_BYTES = FILE_MAGIC.length + FILE_SALT_BYTES;
/** Plaintext bytes per chunk (frozen for version 1). */
export const CHUNK_PLAINTEXT_BYTES = 1024 * 1024;
export const GCM_TAG_BYTES = 16;
const FILE_KEY_INFO = 'strongbox/v1/drive-file';
const CHUNK_AAD_PREFIX = 'strongbox/v1/drive-chunk';

export function chunkCountOf(plaintextBytes: number): number {
  return Math.max(1, Math.ceil(plaintextBytes / CHUNK_PLAINTEXT_BYTES));
}

/** The exact size of the encrypted file: known before encrypting, so drives are planned exactly. */
export function encryptedSizeOf(plaintextBytes: number): number {
  return FILE_HEADER_BYTES + plaintextBytes + chunkCountOf(plaintextBytes) * GCM_TAG_BYTES;
}

function fileKeyOf(driveKey: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', driveKey, salt, FILE_KEY_INFO, 32));
}

function nonceOf(index: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(index, 8);
  return nonce;
}

function aadOf(driveId: string, relPath: string, index: number, final: boolean): Buffer {
  const tail = Buffer.alloc(5);
  tail.writeUInt32BE(index, 0);
  tail.writeUInt8(final ? 1 : 0, 4);
  return Buffer.concat([Buffer.from(`${CHUNK_AAD_PREFIX}\0${driveId}\0${relPath}\0`, 'utf8'), tail]);
}

export interface FileBinding {
  driveId: string;
  /** The staged file's relative path (`/`-separated), as in the journal. */
  relPath: string;
}

export interface EncryptedFileResult {
  size: number;
  sha256: string;
  encryptedSize: number;
  encryptedSha256: string;
}

export interface EncryptFileOptions {
  signal?: AbortSignal;
  /** Called after each chunk with the plaintext bytes it held. */
  onBytes?: (bytes: number) => void;
}

function aborted(): OfflineError {
  return new OfflineError(OFFLINE_ERROR_CODES.ABORTED, 'diskprep was interrupted');
}

/**
 * Encrypts `srcPath` to `destPath`: written to `<dest>.partial`, fsynced, then renamed, so a file under
 * its final name is always whole (a crash leaves at most a .partial, which the next run overwrites).
 */
export async function encryptFile(
  srcPath: string,
  destPath: string,
  driveKey: Buffer,
  binding: FileBinding,
  opts: EncryptFileOptions = {},
): Promise<EncryptedFileResult> {
  const expectedSize = (await stat(srcPath)).size;
  const chunks = chunkCountOf(expectedSize);
  const salt = randomBytes(FILE_SALT_BYTES);
  const fileKey = fileKeyOf(driveKey, salt);
  const partial = `${destPath}.partial`;
  await mkdir(path.dirname(destPath), { recursive: true });
  const src = await open(srcPath, 'r');
  const dest = await open(partial, 'w', 0o644);
  const plainHash = createHash('sha256');
  const encHash = createHash('sha256');
  const buf = Buffer.alloc(Math.min(CHUNK_PLAINTEXT_BYTES, Math.max(expectedSize, 1)));
  let position = 0;
  try {
    const header = Buffer.concat([FILE_MAGIC, salt]);
    await dest.write(header);
    encHash.update(header);
    for (let i = 0; i < chunks; i += 1) {
      if (opts.signal?.aborted) throw aborted();
      const want = Math.min(CHUNK_PLAINTEXT_BYTES, expectedSize - position);
      const { bytesRead } = want === 0 ? { bytesRead: 0 } : await src.read(buf, 0, want, position);
      if (bytesRead !== want) throw stagingChanged(srcPath);
      const plain = buf.subarray(0, want);
      plainHash.update(plain);
      const cipher = createCipheriv('aes-256-gcm', fileKey, nonceOf(i));
      cipher.setAAD(aadOf(binding.driveId, binding.relPath, i, i === chunks - 1));
      const out = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      await dest.write(out);
      encHash.update(out);
      position += want;
      opts.onBytes?.(want);
    }
    // Staging is immutable (vault objects are written once); growth means someone is writing to it.
    const probe = await src.read(Buffer.alloc(1), 0, 1, position);
    if (probe.bytesRead !== 0) throw stagingChanged(srcPath);
    await dest.sync();
  } catch (err) {
    await dest.close();
    await src.close();
    await rm(partial, { force: true });
    throw err;
  } finally {
    fileKey.fill(0);
  }
  await dest.close();
  await src.close();
  await rename(partial, destPath);
  return {
    size: expectedSize,
    sha256: plainHash.digest('hex'),
    encryptedSize: encryptedSizeOf(expectedSize),
    encryptedSha256: encHash.digest('hex'),
  };
}

function stagingChanged(file: string): OfflineError {
  return new OfflineError(
    OFFLINE_ERROR_CODES.STAGING_CHANGED,
    `staged file ${file} changed while it was being copied; staging must not be written during diskprep`,
  );
}

function fileCorrupt(binding: FileBinding, why: string): OfflineError {
  return new OfflineError(
    OFFLINE_ERROR_CODES.FILE_CORRUPT,
    `drive ${binding.driveId}: file ${binding.relPath}: ${why}`,
    { driveId: binding.driveId, files: [binding.relPath] },
  );
}

/** SHA-256 of a whole file, streamed. */
export async function sha256OfFile(file: string): Promise<{ sha256: string; size: number }> {
  const handle = await open(file, 'r');
  const hash = createHash('sha256');
  const buf = Buffer.alloc(CHUNK_PLAINTEXT_BYTES);
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, size);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Decrypts an encrypted drive file chunk by chunk. Every chunk is authenticated before it is yielded;
 * a bad header, tag, truncation or trailing bytes throws OFFLINE.FILE_CORRUPT naming drive and file.
 * A consumer that must not keep partial output (an upload) commits only after the generator finishes.
 */
export async function* decryptFile(
  encPath: string,
  driveKey: Buffer,
  binding: FileBinding,
): AsyncGenerator<Buffer> {
  const handle = await open(encPath, 'r');
  try {
    const total = (await handle.stat()).size;
    if (total < FILE_HEADER_BYTES + GCM_TAG_BYTES)
      throw fileCorrupt(binding, 'too short to be an encrypted file');
    const header = Buffer.alloc(FILE_HEADER_BYTES);
    await handle.read(header, 0, FILE_HEADER_BYTES, 0);
    if (!header.subarray(0, FILE_MAGIC.length).equals(FILE_MAGIC)) throw fileCorrupt(binding, 'bad magic');
    const fileKey = fileKeyOf(driveKey, header.subarray(FILE_MAGIC.length));
    const full = CHUNK_PLAINTEXT_BYTES + GCM_TAG_BYTES;
    const body = total - FILE_HEADER_BYTES;
    const chunks = Math.max(1, Math.ceil(body / full));
    const buf = Buffer.alloc(Math.min(full, body));
    try {
      let position = FILE_HEADER_BYTES;
      for (let i = 0; i < chunks; i += 1) {
        const len = Math.min(full, total - position);
        if (len < GCM_TAG_BYTES) throw fileCorrupt(binding, `chunk ${i} is truncated`);
        const { bytesRead } = await handle.read(buf, 0, len, position);
        if (bytesRead !== len) throw fileCorrupt(binding, `chunk ${i} is truncated`);
        const decipher = createDecipheriv('aes-256-gcm', fileKey, nonceOf(i));
        decipher.setAAD(aadOf(binding.driveId, binding.relPath, i, i === chunks - 1));
        decipher.setAuthTag(buf.subarray(len - GCM_TAG_BYTES, len));
        let plain: Buffer;
        try {
          plain = Buffer.concat([decipher.update(buf.subarray(0, len - GCM_TAG_BYTES)), decipher.final()]);
        } catch {
          throw fileCorrupt(binding, `chunk ${i} failed authentication (damaged, moved or swapped)`);
        }
        position += len;
        yield plain;
      }
    } finally {
      fileKey.fill(0);
    }
  } finally {
    await handle.close();
  }
}
