import { translateProbeError } from './azureStorageProbe';
import { STORAGE_PROBE_ERROR } from './storageProbe';

const named = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error('x'), { name }, extra);

describe('translateProbeError', () => {
  it.each([
    [
      'an abort',
      named('AbortError'),
      STORAGE_PROBE_ERROR.TIMEOUT,
      'The blob service did not answer within 900 ms.',
    ],
    [
      'an unavailable managed identity',
      named('CredentialUnavailableError'),
      STORAGE_PROBE_ERROR.AUTH_FAILED,
      'No token for the blob service: the managed identity is unavailable or was refused.',
    ],
    [
      'a refused token request',
      named('AuthenticationError'),
      STORAGE_PROBE_ERROR.AUTH_FAILED,
      'No token for the blob service: the managed identity is unavailable or was refused.',
    ],
    [
      'a 403 from storage',
      named('RestError', { statusCode: 403, code: 'AuthorizationPermissionMismatch' }),
      STORAGE_PROBE_ERROR.AUTH_FAILED,
      'The blob service refused the credentials with HTTP 403 (AuthorizationPermissionMismatch).',
    ],
    [
      'a 503 from storage',
      named('RestError', { statusCode: 503, code: 'ServerBusy' }),
      STORAGE_PROBE_ERROR.UNAVAILABLE,
      'The blob service answered HTTP 503 (ServerBusy).',
    ],
    [
      'another HTTP status',
      named('RestError', { statusCode: 409 }),
      STORAGE_PROBE_ERROR.FAILED,
      'The blob service answered HTTP 409.',
    ],
    [
      'a DNS failure',
      named('RestError', { code: 'ENOTFOUND' }),
      STORAGE_PROBE_ERROR.UNREACHABLE,
      'The blob service could not be reached (ENOTFOUND).',
    ],
    ['a non-error value', 'boom', STORAGE_PROBE_ERROR.FAILED, 'The blob service call failed.'],
  ])('maps %s', (_case, err, code, message) => {
    expect(translateProbeError('blob', err, 900)).toEqual({ code, message });
  });

  it('does not echo an SDK code that is not a plain identifier', () => {
    const err = named('RestError', { statusCode: 400, code: 'sig=abc&se=2030' });
    expect(translateProbeError('queue', err, 900)).toEqual({
      code: STORAGE_PROBE_ERROR.FAILED,
      message: 'The queue service answered HTTP 400.',
    });
  });

  it('never uses the SDK message', () => {
    const err = named('RestError', {
      statusCode: 500,
      message: 'GET https://sa.blob.core.windows.net/?sig=SECRET',
    });
    expect(JSON.stringify(translateProbeError('table', err, 900))).not.toContain('SECRET');
  });
});
