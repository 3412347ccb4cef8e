// Helpers shared by the blob tests: seeded bytes, exact byte comparison and error-code assertions.
import { createCipheriv, createHash } from 'node:crypto';
import type { BlobListEntry } from '../../shared/blob/blobStore';

export const KIB = 1024;
export const MIB = 1024 * KIB;

/** `length` pseudo-random bytes from `seed` (an AES-CTR keystream): the same on every run, so failures replay. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const key = createHash('sha256').update(`strongbox-test-${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return new Uint8Array(cipher.update(Buffer.alloc(length)));
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Exact equality with a useful message (the first differing offset), for any Uint8Array subclass. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, label = 'bytes'): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(e)) return;
  let at = 0;
  while (at < Math.min(a.length, e.length) && a[at] === e[at]) at += 1;
  throw new Error(`${label}: ${a.length} bytes vs expected ${e.length}; first difference at offset ${at}`);
}

/** Awaits `promise` and asserts it rejected with `code`; returns the error for further checks. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error(`expected rejection with ${code}, but it resolved`);
  const actual = caught as { code?: unknown; message?: unknown };
  if (actual.code !== code)
    throw new Error(`expected rejection with ${code}, got ${String(actual.code)}: ${String(actual.message)}`);
  return caught as Error;
}

export async function collect(entries: AsyncIterable<BlobListEntry>): Promise<BlobListEntry[]> {
  const out: BlobListEntry[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
