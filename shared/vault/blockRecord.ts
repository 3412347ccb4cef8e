// One stored block: [codec u8][plaintext length u32 LE][nonce 12][ciphertext][GCM tag 16].
// AES-256-GCM with associated data = "strongbox/v1/block" ‖ 0 ‖ vault id (16) ‖ block id (32) ‖ the
// first 5 record bytes, so a record moved to another id or another vault, or with an edited header,
// fails authentication. The id is recomputed from the plaintext only where asked (verify, prune):
// the tag already proves the record was sealed for this id by a key holder (docs/design.md,
// "Verification on read").
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import { decodeBlock, encodeBlock, type CompressionMode } from './blockCodec';
import {
  AAD_PREFIX,
  BLOCK_ID_BYTES,
  BLOCK_RECORD_HEADER_BYTES,
  BLOCK_RECORD_OVERHEAD_BYTES,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  type CodecId,
} from './formatIds';
import type { VaultKeys } from './vaultKeys';

const AAD_PREFIX_BYTES = Buffer.from(`${AAD_PREFIX.BLOCK}\0`, 'utf8');

function blockAad(vaultId: Buffer, blockId: Buffer, header5: Buffer): Buffer {
  return Buffer.concat([AAD_PREFIX_BYTES, vaultId, blockId, header5]);
}

export interface SealedBlock {
  record: Buffer;
  codec: CodecId;
}

export function sealBlock(
  keys: VaultKeys,
  vaultId: Buffer,
  blockId: Buffer,
  plain: Buffer,
  compression: CompressionMode,
): SealedBlock {
  const { codec, payload } = encodeBlock(plain, compression);
  const record = Buffer.allocUnsafe(BLOCK_RECORD_OVERHEAD_BYTES + payload.length);
  record.writeUInt8(codec, 0);
  record.writeUInt32LE(plain.length, 1);
  const nonce = randomBytes(GCM_NONCE_BYTES);
  nonce.copy(record, 5);
  const cipher = createCipheriv('aes-256-gcm', keys.encryptionKey, nonce);
  cipher.setAAD(blockAad(vaultId, blockId, record.subarray(0, 5)));
  let at = BLOCK_RECORD_HEADER_BYTES;
  at += cipher.update(payload).copy(record, at);
  at += cipher.final().copy(record, at);
  cipher.getAuthTag().copy(record, at);
  return { record, codec };
}

/**
 * sealBlock, writing the record into `out` at `at` (the worker's batch output: no per-record buffer
 * and no later join). Returns the record's length. `out` must have room for the raw plaintext plus
 * BLOCK_RECORD_OVERHEAD_BYTES.
 */
export function sealBlockInto(
  keys: VaultKeys,
  vaultId: Buffer,
  blockId: Buffer,
  plain: Buffer,
  compression: CompressionMode,
  out: Buffer,
  at: number,
  /** 12 random bytes (a batch draws them in one call); default: drawn here. */
  nonceBytes?: Buffer,
): number {
  const { codec, payload } = encodeBlock(plain, compression);
  out.writeUInt8(codec, at);
  out.writeUInt32LE(plain.length, at + 1);
  const nonce = out.subarray(at + 5, at + BLOCK_RECORD_HEADER_BYTES);
  if (nonceBytes) nonceBytes.copy(nonce);
  else randomFillSync(nonce);
  const cipher = createCipheriv('aes-256-gcm', keys.encryptionKey, nonce);
  cipher.setAAD(blockAad(vaultId, blockId, out.subarray(at, at + 5)));
  let end = at + BLOCK_RECORD_HEADER_BYTES;
  end += cipher.update(payload).copy(out, end);
  end += cipher.final().copy(out, end);
  end += cipher.getAuthTag().copy(out, end);
  return end - at;
}

/** Why a record did not open; the caller adds the pack and the points that reference it. */
export class BlockOpenError extends Error {}

export interface OpenBlockOptions {
  /**
   * Also recompute the id (HMAC-SHA256 of the plaintext) and compare it (default true). Restores pass
   * false: the GCM tag, over associated data that binds the vault id and the block id, already proves
   * the record is the one a key holder sealed for this id; the HMAC only catches a writer that sealed
   * the wrong plaintext under an id, which verify() (the deep check) and prune still look for.
   */
  checkId?: boolean;
}

/** Authenticates, decrypts, decodes and (by default) re-checks the id of one record. Throws BlockOpenError. */
export function openBlock(
  keys: VaultKeys,
  vaultId: Buffer,
  blockId: Buffer,
  record: Buffer,
  opts: OpenBlockOptions = {},
): Buffer {
  if (blockId.length !== BLOCK_ID_BYTES) throw new BlockOpenError('bad block id length');
  if (record.length < BLOCK_RECORD_OVERHEAD_BYTES)
    throw new BlockOpenError(`record of ${record.length} bytes is too short`);
  const codec = record.readUInt8(0);
  const plainLength = record.readUInt32LE(1);
  const nonce = record.subarray(5, BLOCK_RECORD_HEADER_BYTES);
  const tag = record.subarray(record.length - GCM_TAG_BYTES);
  const ciphertext = record.subarray(BLOCK_RECORD_HEADER_BYTES, record.length - GCM_TAG_BYTES);
  let payload: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.encryptionKey, nonce);
    decipher.setAAD(blockAad(vaultId, blockId, record.subarray(0, 5)));
    decipher.setAuthTag(tag);
    const body = decipher.update(ciphertext);
    const rest = decipher.final(); // empty for GCM: skip the copy Buffer.concat would make
    payload = rest.length === 0 ? body : Buffer.concat([body, rest]);
  } catch {
    throw new BlockOpenError('authentication failed (AES-GCM tag mismatch)');
  }
  let plain: Buffer;
  try {
    plain = decodeBlock(codec, payload, plainLength);
  } catch (err) {
    throw new BlockOpenError(`cannot decode: ${(err as Error).message}`);
  }
  // Defence in depth against a writer bug: GCM already bound the id, but the id is also the plaintext's HMAC.
  if (opts.checkId !== false && !timingSafeEqual(keys.blockIdOf(plain), blockId))
    throw new BlockOpenError('block id does not match its content');
  return plain;
}
