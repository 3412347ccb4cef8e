// Identifiers: random ids for packs, indexes, manifests and points, and hex conversion of block ids.
import { randomBytes } from 'node:crypto';

/** A random lower-case hex id of `bytes` bytes (valid in a blob key segment). */
export function randomHexId(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

/** Strict lower-case hex to bytes; undefined if malformed or not `bytes` long. */
export function fromHex(hex: string, bytes: number): Buffer | undefined {
  if (hex.length !== bytes * 2 || !HEX_RE.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}

/** True if every byte is zero (memcmp against a shared zero buffer, chunked). */
const ZEROS = Buffer.alloc(64 * 1024);
export function isAllZero(data: Buffer): boolean {
  for (let at = 0; at < data.length; at += ZEROS.length) {
    const n = Math.min(ZEROS.length, data.length - at);
    if (!data.subarray(at, at + n).equals(ZEROS.subarray(0, n))) return false;
  }
  return true;
}
