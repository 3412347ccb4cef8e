import { BLOB_ERROR_CODES as CODES } from '../../shared/blob/blobErrors';
import { assertValidPrefix, keyProblem } from '../../shared/blob/blobKey';
import { StrongboxError, hasErrorCode } from '../../shared/errors';
import { BlobNotFoundError } from '../../shared/blob/blobErrors';

describe('blob key grammar', () => {
  test.each([
    'packs/ab/abcdef0123',
    'index/0001',
    'a',
    'a-b_c.d/e',
    'manifests/2024-01-01t00-00-00z',
    'x'.repeat(255),
  ])('accepts %s', (key) => {
    expect(keyProblem(key)).toBeUndefined();
  });

  test.each([
    ['', 'empty key'],
    ['../x', 'must start with'],
    ['a/../b', 'must start with'],
    ['a/./b', 'must start with'],
    ['/a', 'empty segment'],
    ['a/', 'empty segment'],
    ['a//b', 'empty segment'],
    ['a\\b', 'outside'],
    ['A', 'outside'],
    ['a b', 'outside'],
    ['a~', 'outside'],
    ['a%2f', 'outside'],
    ['é', 'outside'],
    ['a\u0000', 'outside'],
    ['.a', 'must start with'],
    ['a.', 'must start with'],
    ['con', 'Windows device'],
    ['lpt1.txt', 'Windows device'],
    ['x'.repeat(256), 'longer than 255'],
    [`${'a/'.repeat(254)}a`, 'more than 254 segments'],
    ['a'.repeat(1025), 'longer than 1024'],
  ])('refuses %j (%s)', (key, reason) => {
    expect(keyProblem(key)).toContain(reason);
  });

  test('prefixes: any start of a valid key', () => {
    for (const ok of ['', 'p', 'packs/', 'packs/a', 'packs/ab/', 'packs/ab/ab'])
      expect(() => assertValidPrefix(ok)).not.toThrow();
    for (const bad of ['/', '../', 'a//', 'A', 'a/../', '.x/']) {
      let code: unknown;
      try {
        assertValidPrefix(bad);
      } catch (err) {
        code = (err as { code?: unknown }).code;
      }
      expect(code).toBe(CODES.INVALID_KEY);
    }
  });
});

describe('errors', () => {
  test('a BlobError is a StrongboxError with a code, a name and a cause', () => {
    const cause = new Error('sdk');
    const err = new BlobNotFoundError('k', { cause });
    expect(err).toBeInstanceOf(StrongboxError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('BlobNotFoundError');
    expect(err.code).toBe('BLOB.NOT_FOUND');
    expect(err.key).toBe('k');
    expect(err.cause).toBe(cause);
  });

  test('hasErrorCode works on errors rebuilt from plain objects (codes cross process boundaries)', () => {
    expect(hasErrorCode({ code: 'BLOB.TRANSIENT', message: 'x' }, 'BLOB.TRANSIENT')).toBe(true);
    expect(hasErrorCode(new Error('x'), 'BLOB.TRANSIENT')).toBe(false);
    expect(hasErrorCode(undefined, 'BLOB.TRANSIENT')).toBe(false);
  });
});
