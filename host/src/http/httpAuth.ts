// Function keys, as the Functions host checks them: the key comes from `?code=` or the
// `x-functions-key` header; `function` routes accept a function key, a system key or the master key;
// `admin` routes (and the host's /admin API) accept only the master key.
import { timingSafeEqual } from 'node:crypto';
import type { HostKeys } from '../keys/hostKeys';

export type AuthLevel = 'anonymous' | 'function' | 'admin';

export const FUNCTION_KEY_HEADER = 'x-functions-key';
export const FUNCTION_KEY_QUERY = 'code';

export function parseAuthLevel(value: unknown): AuthLevel | undefined {
  if (value === undefined || value === null) return 'anonymous';
  if (typeof value !== 'string') return undefined;
  const v = value.toLowerCase();
  return v === 'anonymous' || v === 'function' || v === 'admin' ? v : undefined;
}

/** The key a request presents; the header wins over the query string, as in the real host. */
export function presentedKey(
  headers: Record<string, string | string[] | undefined>,
  query: URLSearchParams,
): string | undefined {
  const header = headers[FUNCTION_KEY_HEADER];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromHeader) return fromHeader;
  return query.get(FUNCTION_KEY_QUERY) ?? undefined;
}

function sameKey(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Constant-time compare so a key cannot be guessed byte by byte from response times.
  return x.length === y.length && timingSafeEqual(x, y);
}

export function isAuthorized(level: AuthLevel, key: string | undefined, keys: HostKeys): boolean {
  if (level === 'anonymous') return true;
  if (!key) return false;
  if (sameKey(key, keys.masterKey)) return true;
  if (level === 'admin') return false;
  const accepted = [...Object.values(keys.functionKeys), ...Object.values(keys.systemKeys)];
  return accepted.some((k) => sameKey(key, k));
}
