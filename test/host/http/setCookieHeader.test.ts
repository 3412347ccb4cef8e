import type { RpcHttpCookie } from '../../../host/src/core/types';
import { escapeDataString, formatSetCookie } from '../../../host/src/http/setCookieHeader';

describe('formatSetCookie', () => {
  test('name and value only', () => {
    expect(formatSetCookie({ name: 'a', value: 'b', sameSite: 'none' })).toBe('a=b');
  });

  test('every attribute, in ASP.NET order', () => {
    const cookie: RpcHttpCookie = {
      name: 'session',
      value: 'x y;z',
      domain: { value: 'example.com' },
      path: { value: '/app' },
      expires: { value: { seconds: Date.UTC(2030, 0, 1) / 1000 } },
      secure: { value: true },
      httpOnly: { value: true },
      sameSite: 'lax',
      maxAge: { value: 3600.7 },
    };
    expect(formatSetCookie(cookie)).toBe(
      'session=x%20y%3Bz; expires=Tue, 01 Jan 2030 00:00:00 GMT; max-age=3600; domain=example.com; path=/app; secure; samesite=lax; httponly',
    );
  });

  test('sameSite: explicitNone is "none", none is unset, protobuf numbers work', () => {
    expect(formatSetCookie({ name: 'a', value: 'b', sameSite: 'explicitNone' })).toBe('a=b; samesite=none');
    expect(formatSetCookie({ name: 'a', value: 'b', sameSite: 2 })).toBe('a=b; samesite=strict');
    expect(formatSetCookie({ name: 'a', value: 'b', sameSite: 0 })).toBe('a=b');
  });

  test('false flags and Long-like numbers', () => {
    expect(
      formatSetCookie({
        name: 'a',
        value: '',
        secure: { value: false },
        httpOnly: { value: false },
        maxAge: { value: { toNumber: () => 0 } },
      }),
    ).toBe('a=; max-age=0');
  });

  test('escapeDataString escapes what Uri.EscapeDataString escapes', () => {
    expect(escapeDataString("a!'()*~-_.")).toBe('a%21%27%28%29%2A~-_.');
  });
});
