// Small translations between BlobStore options/results and the storage-blob SDK's shapes.
import type { BlobRequestConditions } from '@azure/storage-blob';
import { BlobFailedError, BlobTransientError } from './blobErrors';
import type { WriteConditions } from './blobStore';
import type { AzureCallContext } from './azureErrors';

export function writeConditionsFor(conditions: WriteConditions): BlobRequestConditions | undefined {
  if (conditions.ifNoneMatch === '*') return { ifNoneMatch: '*' };
  if (conditions.ifMatch !== undefined) return { ifMatch: conditions.ifMatch };
  return undefined;
}

export function conditionOf(conditions: WriteConditions): AzureCallContext['condition'] {
  if (conditions.ifNoneMatch === '*') return 'ifNoneMatch';
  if (conditions.ifMatch !== undefined) return 'ifMatch';
  return undefined;
}

/**
 * One etag form for every call. Azure returns it quoted (`"0x8DC…"`) from PUT/GET/HEAD but unquoted
 * from List Blobs (seen on Azurite 3.35); an etag from `list` must work as an `ifMatch` as well.
 */
export function normalizeEtag(etag: string | undefined, ctx: AzureCallContext): string {
  if (!etag) throw new BlobFailedError(`azure ${ctx.op} returned no etag`, ctx.key);
  return etag.startsWith('"') || etag.startsWith('W/"') ? etag : `"${etag}"`;
}

/**
 * Reads a download body into one buffer of exactly `expected` bytes (the response's Content-Length).
 * A body that ends early is a dropped connection (TRANSIENT); one that runs long is a protocol error.
 */
export async function readBodyExactly(
  body: NodeJS.ReadableStream | undefined,
  expected: number,
  ctx: AzureCallContext,
): Promise<Uint8Array> {
  return readBodyInto(body, expected, ctx, Buffer.allocUnsafe(expected));
}

/**
 * Reads a response body of exactly `expected` bytes into `out` (from index 0; it must hold them) and
 * returns the view of `out` that holds them. More bytes than promised is a failure; fewer is transient.
 */
export async function readBodyInto(
  body: NodeJS.ReadableStream | undefined,
  expected: number,
  ctx: AzureCallContext,
  out: Uint8Array,
): Promise<Uint8Array> {
  let at = 0;
  if (body) {
    for await (const chunk of body) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (at + bytes.byteLength > expected)
        throw new BlobFailedError(
          `azure ${ctx.op} sent more than its ${expected}-byte Content-Length`,
          ctx.key,
        );
      bytes.copy(out, at);
      at += bytes.byteLength;
    }
  }
  if (at !== expected)
    throw new BlobTransientError(`azure ${ctx.op} body ended after ${at} of ${expected} bytes`, ctx.key);
  return out.subarray(0, expected);
}
