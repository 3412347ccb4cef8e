import { isAuthorized, parseAuthLevel, presentedKey } from '../../../host/src/http/httpAuth';
import type { HostKeys } from '../../../host/src/keys/hostKeys';

const keys: HostKeys = {
  masterKey: 'master-1',
  functionKeys: { default: 'function-1', other: 'function-2' },
  systemKeys: { durabletask_extension: 'system-1' },
};

describe('isAuthorized', () => {
  test.each([
    ['anonymous', undefined, true],
    ['function', undefined, false],
    ['function', 'wrong', false],
    ['function', 'function-1', true],
    ['function', 'function-2', true],
    ['function', 'system-1', true],
    ['function', 'master-1', true],
    ['admin', 'function-1', false],
    ['admin', 'system-1', false],
    ['admin', 'master-1', true],
    ['admin', 'master-', false],
  ] as const)('%s with key %p → %p', (level, key, expected) => {
    expect(isAuthorized(level, key, keys)).toBe(expected);
  });
});

describe('presentedKey', () => {
  test('header wins over ?code=', () => {
    expect(presentedKey({ 'x-functions-key': 'h' }, new URLSearchParams('code=q'))).toBe('h');
    expect(presentedKey({}, new URLSearchParams('code=q'))).toBe('q');
    expect(presentedKey({}, new URLSearchParams(''))).toBeUndefined();
  });
});

test('parseAuthLevel', () => {
  expect(parseAuthLevel(undefined)).toBe('anonymous');
  expect(parseAuthLevel('ADMIN')).toBe('admin');
  expect(parseAuthLevel('user')).toBeUndefined();
});
