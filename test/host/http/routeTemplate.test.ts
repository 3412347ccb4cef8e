import { parseRouteConstraint } from '../../../host/src/http/routeConstraints';
import {
  compareRoutes,
  matchRouteTemplate,
  parseRouteTemplate,
  routePrecedence,
  splitRequestPath,
} from '../../../host/src/http/routeTemplate';
import { thrown } from '../thrown';

const match = (template: string, path: string): Record<string, string> | undefined =>
  matchRouteTemplate(parseRouteTemplate(template), splitRequestPath(path));

describe('route templates', () => {
  test('literal segments match case-insensitively', () => {
    expect(match('api/items/special', '/api/ITEMS/Special')).toEqual({});
    expect(match('api/items/special', '/api/items/other')).toBeUndefined();
  });

  test('one trailing slash is ignored, empty segments are not', () => {
    expect(match('api/items', '/api/items/')).toEqual({});
    expect(match('api/{a}/{b}', '/api//x')).toBeUndefined();
  });

  test('parameters capture decoded segments', () => {
    expect(match('api/hello/{name}', '/api/hello/J%C3%BCrgen')).toEqual({ name: 'Jürgen' });
    expect(match('api/hello/{name}', '/api/hello')).toBeUndefined();
    expect(match('api/hello/{name}', '/api/hello/a/b')).toBeUndefined();
  });

  test('an encoded slash stays inside its segment', () => {
    expect(match('api/files/{name}', '/api/files/a%2Fb')).toEqual({ name: 'a/b' });
  });

  test('optional parameters may be absent', () => {
    expect(match('api/docs/{section?}', '/api/docs')).toEqual({});
    expect(match('api/docs/{section?}', '/api/docs/intro')).toEqual({ section: 'intro' });
    expect(match('api/docs/{section?}', '/api/docs/intro/more')).toBeUndefined();
  });

  test('defaults fill absent trailing parameters', () => {
    expect(match('api/page/{n:int=1}', '/api/page')).toEqual({ n: '1' });
    expect(match('api/page/{n:int=1}', '/api/page/7')).toEqual({ n: '7' });
    expect(match('api/page/{n:int=1}', '/api/page/x')).toBeUndefined();
  });

  test('catch-all takes the rest, including slashes, or nothing', () => {
    expect(match('api/files/{*path}', '/api/files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
    expect(match('api/files/{*path}', '/api/files')).toEqual({});
    expect(match('api/files/{**path}', '/api/files/x')).toEqual({ path: 'x' });
    expect(match('{*all}', '/')).toEqual({});
  });

  test('complex segments split like ASP.NET (greedy from the left, so the last literal wins)', () => {
    expect(match('api/{name}.{ext}', '/api/report.tar.gz')).toEqual({ name: 'report.tar', ext: 'gz' });
    expect(match('api/v{version:int}/x', '/api/V2/x')).toEqual({ version: '2' });
    expect(match('api/v{version:int}/x', '/api/vtwo/x')).toBeUndefined();
  });

  test('constraints filter values', () => {
    expect(match('api/items/{id:int}', '/api/items/42')).toEqual({ id: '42' });
    expect(match('api/items/{id:int}', '/api/items/-42')).toEqual({ id: '-42' });
    expect(match('api/items/{id:int}', '/api/items/abc')).toBeUndefined();
    expect(match('api/items/{id:int}', '/api/items/2147483648')).toBeUndefined();
    expect(match('api/items/{id:long}', '/api/items/2147483648')).toEqual({ id: '2147483648' });
    expect(match('api/items/{id:long}', '/api/items/9223372036854775808')).toBeUndefined();
    expect(match('api/items/{id:int:min(10)}', '/api/items/9')).toBeUndefined();
    expect(match('api/items/{id:int:min(10)}', '/api/items/10')).toEqual({ id: '10' });
  });

  test('bad templates fail with a code', () => {
    for (const bad of [
      'api/{*rest}/more',
      'api/{a}/{a}',
      'api/{a}{b}',
      'api/{a?}/b',
      'api/{a',
      'api/a}',
      'api/x?',
      'api/{id:nosuch}',
      'api//x',
      'api/{*rest?}',
      'api/{a?=1}',
      'api/{}',
    ]) {
      expect(thrown(() => parseRouteTemplate(bad))).toMatchObject({ code: 'HTTP.ROUTE_TEMPLATE_INVALID' });
    }
  });

  test('a leading slash in the template is accepted', () => {
    expect(match('/api/x', '/api/x')).toEqual({});
  });

  test('regex constraints may contain escaped braces and slashes', () => {
    expect(match('api/zip/{code:regex(^\\d{{5}}$)}', '/api/zip/12345')).toEqual({ code: '12345' });
    expect(match('api/zip/{code:regex(^\\d{{5}}$)}', '/api/zip/1234')).toBeUndefined();
  });
});

describe('route constraints', () => {
  const ok = (c: string, v: string): boolean => parseRouteConstraint(c).test(v);

  test.each([
    ['int', '0', true],
    ['int', '+7', true],
    ['int', '1.5', false],
    ['int', '-2147483648', true],
    ['int', '-2147483649', false],
    ['long', '-9223372036854775808', true],
    ['bool', 'TRUE', true],
    ['bool', 'yes', false],
    ['alpha', 'abcXYZ', true],
    ['alpha', 'abc1', false],
    ['guid', '0f8fad5b-d9cb-469f-a165-70867728950e', true],
    ['guid', '0F8FAD5BD9CB469FA16570867728950E', true],
    ['guid', '{0f8fad5b-d9cb-469f-a165-70867728950e}', true],
    ['guid', '0f8fad5b-d9cb469f-a165-70867728950e', false],
    ['guid', 'not-a-guid', false],
    ['double', '1.5e3', true],
    ['double', '1.5.3', false],
    ['minlength(3)', 'ab', false],
    ['minlength(3)', 'abc', true],
    ['maxlength(3)', 'abcd', false],
    ['length(2,3)', 'abc', true],
    ['length(2)', 'abc', false],
    ['range(1,5)', '5', true],
    ['range(1,5)', '6', false],
    ['max(5)', '6', false],
  ])('%s on %p is %p', (constraint, value, expected) => {
    expect(ok(constraint, value)).toBe(expected);
  });

  test('arguments are checked', () => {
    expect(() => parseRouteConstraint('minlength(x)')).toThrow(/integer argument/);
    expect(() => parseRouteConstraint('regex(()')).toThrow(/invalid regular expression/);
  });
});

describe('route precedence', () => {
  const sorted = (...templates: string[]): string[] =>
    templates
      .map((t) => parseRouteTemplate(t))
      .sort(compareRoutes)
      .map((t) => t.text);

  test('literal < complex < constrained < plain < catch-all', () => {
    expect(routePrecedence(parseRouteTemplate('a/{x}.{y}/{id:int}/{p}/{*r}'))).toEqual([1, 2, 3, 4, 5]);
    expect(sorted('items/{name}', 'items/{*rest}', 'items/special', 'items/{id:int}')).toEqual([
      'items/special',
      'items/{id:int}',
      'items/{name}',
      'items/{*rest}',
    ]);
  });

  test('ties are broken by template text', () => {
    expect(sorted('b/{x}', 'A/{x}')).toEqual(['A/{x}', 'b/{x}']);
  });
});
