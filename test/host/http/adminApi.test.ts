import { ControllableClock } from '../../../host/src/clock';
import { handleAdminRequest, type AdminApiDeps } from '../../../host/src/http/adminApi';
import { thrown } from '../thrown';

function deps(): AdminApiDeps & { clock: ControllableClock } {
  return {
    clock: new ControllableClock(0, () => Date.UTC(2024, 0, 1)),
    hostStatus: () => ({ state: 'Running' }),
  };
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe('admin API', () => {
  test('status', () => {
    expect(handleAdminRequest('GET', '/admin/host/status', Buffer.alloc(0), deps())).toEqual({
      status: 200,
      body: { state: 'Running' },
    });
  });

  test('clock: read, advance by ms and by days', () => {
    const d = deps();
    expect(handleAdminRequest('GET', '/Admin/Host/Clock', Buffer.alloc(0), d)?.body).toEqual({
      now: '2024-01-01T00:00:00.000Z',
      offsetMs: 0,
    });
    expect(handleAdminRequest('POST', '/admin/host/clock', json({ advanceMs: 1500 }), d)?.body).toEqual({
      now: '2024-01-01T00:00:01.500Z',
      offsetMs: 1500,
    });
    expect(handleAdminRequest('POST', '/admin/host/clock', json({ advanceDays: 2 }), d)?.body).toEqual({
      now: '2024-01-03T00:00:01.500Z',
      offsetMs: 1500 + 2 * 86_400_000,
    });
  });

  test.each([[{}], [{ advanceMs: -1 }], [{ advanceMs: 'x' }], [{ advanceHours: 1 }]])(
    'bad clock body %p is 400',
    (body) => {
      expect(thrown(() => handleAdminRequest('POST', '/admin/host/clock', json(body), deps()))).toMatchObject(
        { code: 'HTTP.BAD_REQUEST', status: 400 },
      );
    },
  );

  test('not JSON is 400, wrong method is 405, unknown path is undefined', () => {
    expect(
      thrown(() => handleAdminRequest('POST', '/admin/host/clock', Buffer.from('{'), deps())),
    ).toMatchObject({ status: 400 });
    expect(
      thrown(() => handleAdminRequest('DELETE', '/admin/host/status', Buffer.alloc(0), deps())),
    ).toMatchObject({ code: 'HTTP.METHOD_NOT_ALLOWED', status: 405 });
    expect(handleAdminRequest('GET', '/admin/other', Buffer.alloc(0), deps())).toBeUndefined();
  });
});
