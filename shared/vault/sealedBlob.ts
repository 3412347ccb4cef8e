// Sealed (encrypted) metadata blobs: indexes, manifests, recovery points and pack headers.
// [version u8 = 1][kind u8][codec u8][nonce 12][ciphertext][GCM tag 16], AES-256-GCM under the
// encryption sub-key, associated data = "strongbox/v1/sealed" ‖ 0 ‖ vault id (16) ‖ the first 3
// bytes ‖ utf8(name), where name is the object's own id. A blob copied under another name, kind or
// vault fails authentication.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { decodeUnsized, encodeBlock, type CompressionMode } from './blockCodec';
import {
  AAD_PREFIX,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  SEALED_BLOB_VERSION,
  SEALED_HEADER_BYTES,
  type SealedKind,
} from './formatIds';
import type { VaultKeys } from './vaultKeys';

const AAD_PREFIX_BYTES = Buffer.from(`${AAD_PREFIX.SEALED}\0`, 'utf8');

function sealedAad(vaultId: Buffer, header3: Buffer, name: string): Buffer {
  return Buffer.concat([AAD_PREFIX_BYTES, vaultId, header3, Buffer.from(name, 'utf8')]);
}

export function sealBlob(
  keys: VaultKeys,
  vaultId: Buffer,
  kind: SealedKind,
  name: string,
  plain: Buffer,
  compression: CompressionMode,
): Buffer {
  // No plaintext length is stored: the parsers of what is inside check their own lengths.
  const { codec, payload } = encodeBlock(plain, compression);
  const header = Buffer.alloc(SEALED_HEADER_BYTES);
  header.writeUInt8(SEALED_BLOB_VERSION, 0);
  header.writeUInt8(kind, 1);
  header.writeUInt8(codec, 2);
  randomBytes(GCM_NONCE_BYTES).copy(header, 3);
  const cipher = createCipheriv('aes-256-gcm', keys.encryptionKey, header.subarray(3));
  cipher.setAAD(sealedAad(vaultId, header.subarray(0, 3), name));
  const body = Buffer.concat([cipher.update(payload), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

export class SealedOpenError extends Error {}

export function openSealedBlob(
  keys: VaultKeys,
  vaultId: Buffer,
  kind: SealedKind,
  name: string,
  sealed: Uint8Array,
  maxPlainBytes = 1 << 30,
): Buffer {
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (buf.length < SEALED_HEADER_BYTES + GCM_TAG_BYTES) throw new SealedOpenError('too short');
  if (buf.readUInt8(0) !== SEALED_BLOB_VERSION)
    throw new SealedOpenError(`unknown sealed version ${buf.readUInt8(0)}`);
  if (buf.readUInt8(1) !== kind) throw new SealedOpenError(`kind ${buf.readUInt8(1)}, expected ${kind}`);
  const codec = buf.readUInt8(2);
  let payload: Buffer;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      keys.encryptionKey,
      buf.subarray(3, SEALED_HEADER_BYTES),
    );
    decipher.setAAD(sealedAad(vaultId, buf.subarray(0, 3), name));
    decipher.setAuthTag(buf.subarray(buf.length - GCM_TAG_BYTES));
    payload = Buffer.concat([
      decipher.update(buf.subarray(SEALED_HEADER_BYTES, buf.length - GCM_TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new SealedOpenError('authentication failed (AES-GCM tag mismatch)');
  }
  try {
    return decodeUnsized(codec, payload, maxPlainBytes);
  } catch (err) {
    throw new SealedOpenError(`cannot decode: ${(err as Error).message}`);
  }
}
