// Cookies from an RPC HTTP response, as `Set-Cookie` header values. The Functions host appends them
// with ASP.NET Core's ResponseCookies, which escapes name and value (Uri.EscapeDataString) and
// writes attributes in this order: expires, max-age, domain, path, secure, samesite, httponly.
import type { RpcHttpCookie } from '../core/types';

type LongLike = number | { toNumber(): number } | null | undefined;

function toNumber(v: LongLike): number | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === 'number' ? v : v.toNumber();
}

/** .NET Uri.EscapeDataString: only RFC 3986 unreserved characters stay unescaped. */
export function escapeDataString(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** RpcHttpCookie.SameSite: the library sends names; protobuf numbers are accepted too. */
function sameSite(value: RpcHttpCookie['sameSite']): string | undefined {
  switch (value) {
    case 'lax':
    case 1:
      return 'lax';
    case 'strict':
    case 2:
      return 'strict';
    case 'explicitNone':
    case 3:
      return 'none';
    default:
      // 'none' / 0 means "not set" in the RPC contract.
      return undefined;
  }
}

export function formatSetCookie(cookie: RpcHttpCookie): string {
  const parts = [`${escapeDataString(cookie.name ?? '')}=${escapeDataString(cookie.value ?? '')}`];
  const expiresSeconds = toNumber(cookie.expires?.value?.seconds);
  if (expiresSeconds !== undefined) parts.push(`expires=${new Date(expiresSeconds * 1000).toUTCString()}`);
  const maxAge = toNumber(cookie.maxAge?.value);
  if (maxAge !== undefined) parts.push(`max-age=${Math.trunc(maxAge)}`);
  if (cookie.domain?.value) parts.push(`domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`path=${cookie.path.value}`);
  if (cookie.secure?.value) parts.push('secure');
  const site = sameSite(cookie.sameSite);
  if (site) parts.push(`samesite=${site}`);
  if (cookie.httpOnly?.value) parts.push('httponly');
  return parts.join('; ');
}
