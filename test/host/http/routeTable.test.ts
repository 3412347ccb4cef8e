import type { RegisteredFunction } from '../../../host/src/core/registry';
import type { RpcBindingInfo } from '../../../host/src/core/types';
import { httpRouteFor, RouteTable } from '../../../host/src/http/routeTable';

function httpFunction(name: string, trigger: Record<string, unknown>): RegisteredFunction {
  const info: RpcBindingInfo & { type: string } = { type: 'httpTrigger', direction: 'in', ...trigger };
  return {
    name,
    bindings: { req: info, $return: { type: 'http', direction: 'out' } },
    triggerName: 'req',
    trigger: info,
    handler: () => undefined,
    retryOptions: undefined,
  };
}

const table = (prefix: string, ...fns: RegisteredFunction[]): RouteTable =>
  new RouteTable(fns.map((f) => httpRouteFor(f, prefix)));

describe('RouteTable', () => {
  const byId = httpFunction('byId', { route: 'items/{id:int}', methods: ['GET'] });
  const special = httpFunction('special', { route: 'items/special', methods: ['POST'] });
  const byName = httpFunction('byName', { route: 'items/{name}', methods: ['GET', 'POST'] });
  const t = table('api', byId, special, byName);

  test('the best route that accepts the method wins', () => {
    expect(t.match('GET', '/api/items/7')?.route.fn.name).toBe('byId');
    expect(t.match('POST', '/api/items/special')?.route.fn.name).toBe('special');
    // The literal route does not accept GET, so the parameter route takes it.
    expect(t.match('GET', '/api/items/special')).toMatchObject({
      route: { fn: { name: 'byName' } },
      params: { name: 'special' },
    });
  });

  test('a path that only matches with another method is not found (404, like the Functions host)', () => {
    const only = table('api', httpFunction('submit', { route: 'submit', methods: ['POST'] }));
    expect(only.match('GET', '/api/submit')).toBeUndefined();
    expect(only.match('post', '/api/submit')?.route.fn.name).toBe('submit');
  });

  test('the default route is the function name; no methods means any method', () => {
    const t2 = table('api', httpFunction('Hello', {}));
    expect(t2.match('DELETE', '/api/hello')?.route.fn.name).toBe('Hello');
    expect(t2.match('GET', '/hello')).toBeUndefined();
  });

  test('an empty route prefix serves routes at the root', () => {
    const t3 = table('', httpFunction('root', { route: 'status/{x?}' }));
    expect(t3.match('GET', '/status')?.route.fn.name).toBe('root');
    expect(t3.match('GET', '/api/status')).toBeUndefined();
  });

  test('auth levels are read and checked', () => {
    expect(httpRouteFor(httpFunction('f', { authLevel: 'Function' }), 'api').authLevel).toBe('function');
    expect(httpRouteFor(httpFunction('f', {}), 'api').authLevel).toBe('anonymous');
    expect(() => httpRouteFor(httpFunction('f', { authLevel: 'system' }), 'api')).toThrow(/authLevel/);
  });
});
