// API paging: `$top` and an opaque `$skipToken` wrapping the store's continuation token, ARM-style
// (`{"value": [...], "nextLink": "..."}`).
import { ApiError } from './apiErrors';

export const DEFAULT_PAGE_SIZE = 100;
/** Azure Tables returns at most 1,000 rows a page; a larger $top could not be honoured in one call. */
export const MAX_PAGE_SIZE = 1000;

export interface PageRequest {
  readonly top: number;
  readonly storeToken?: string;
}

export interface Page<T> {
  readonly value: readonly T[];
  /** Pass back as $skipToken; absent on the last page. */
  readonly skipToken?: string;
}

export function encodeSkipToken(storeToken: string | undefined): string | undefined {
  return storeToken === undefined
    ? undefined
    : Buffer.from(JSON.stringify({ c: storeToken }), 'utf8').toString('base64url');
}

export function parsePageRequest(
  top: string | null | undefined,
  skipToken: string | null | undefined,
): PageRequest {
  let size = DEFAULT_PAGE_SIZE;
  if (top !== null && top !== undefined) {
    size = Number(top);
    if (!/^\d+$/.test(top) || size < 1 || size > MAX_PAGE_SIZE) {
      throw new ApiError(
        'InvalidParameter',
        `$top must be a whole number from 1 to ${MAX_PAGE_SIZE}`,
        '$top',
      );
    }
  }
  if (skipToken === null || skipToken === undefined) return { top: size };
  try {
    const parsed = JSON.parse(Buffer.from(skipToken, 'base64url').toString('utf8')) as { c?: unknown };
    if (typeof parsed.c === 'string') return { top: size, storeToken: parsed.c };
  } catch {
    // fall through
  }
  throw new ApiError('InvalidParameter', '$skipToken is not a token this API issued', '$skipToken');
}

/**
 * Runs one store query for an API page. A store token that the store refuses (forged or from another
 * query) is the client's mistake: 400, not 500.
 */
export async function withSkipToken<R>(page: PageRequest, run: () => Promise<R>): Promise<R> {
  try {
    return await run();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (page.storeToken !== undefined && (code === 'STATE.FAILED' || code === 'STATE.INVALID_ARGUMENT')) {
      throw new ApiError('InvalidParameter', '$skipToken is not valid for this query', '$skipToken', [], {
        cause: err,
      });
    }
    throw err;
  }
}
