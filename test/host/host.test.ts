import { parseHostJson } from '../../host/src/app/hostJson';
import type { RegisteredFunction } from '../../host/src/core/registry';
import type { RpcBindingInfo } from '../../host/src/core/types';
import {
  connectionStringFor,
  isFunctionDisabled,
  planApp,
  readHostEnvironment,
  resolveAppSettings,
} from '../../host/src/host';
import { thrown } from './thrown';

function fn(
  name: string,
  trigger: RpcBindingInfo & { type: string },
  others: Record<string, RpcBindingInfo> = {},
): RegisteredFunction {
  return {
    name,
    bindings: { trigger, ...others },
    triggerName: 'trigger',
    trigger,
    handler: () => undefined,
    retryOptions: undefined,
  };
}

const hostSettings = parseHostJson({ version: '2.0' });
const env = readHostEnvironment({
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  SCHEDULE: '0 */5 * * * *',
  'AzureWebJobs.off.Disabled': 'true',
});
const NOW = Date.UTC(2024, 0, 1);

describe('readHostEnvironment', () => {
  test('defaults', () => {
    const e = readHostEnvironment({});
    expect(e).toMatchObject({ clockOffsetMs: 0, timeZone: 'UTC', masterKey: undefined, logLevel: 'info' });
    expect(Object.isFrozen(e)).toBe(true);
  });

  test('values and validation', () => {
    expect(
      readHostEnvironment({ STRONGBOX_CLOCK_OFFSET_MS: '86400000', STRONGBOX_HOST_MASTER_KEY: 'k' }),
    ).toMatchObject({
      clockOffsetMs: 86_400_000,
      masterKey: 'k',
    });
    expect(thrown(() => readHostEnvironment({ STRONGBOX_CLOCK_OFFSET_MS: 'soon' }))).toMatchObject({
      code: 'HOST.CONFIG_INVALID',
    });
    expect(() => readHostEnvironment({ STRONGBOX_CLOCK_OFFSET_MS: '-5' })).toThrow(/must not be negative/);
  });

  test('time zone: WEBSITE_TIME_ZONE must be valid; a bad TZ falls back to UTC with a warning', () => {
    expect(readHostEnvironment({ WEBSITE_TIME_ZONE: 'Europe/Berlin' }).timeZone).toBe('Europe/Berlin');
    expect(thrown(() => readHostEnvironment({ WEBSITE_TIME_ZONE: 'Nowhere/Atlantis' }))).toMatchObject({
      code: 'TIMER.TIME_ZONE_INVALID',
    });
    const e = readHostEnvironment({ TZ: 'EST5EDT,M3.2.0,M11.1.0' });
    expect(e.timeZone).toBe('UTC');
    expect(e.timeZoneWarning).toMatch(/not an IANA time zone/);
    expect(readHostEnvironment({ TZ: ':America/New_York' }).timeZone).toBe('America/New_York');
  });
});

test('resolveAppSettings replaces %NAME% and names a missing setting', () => {
  expect(resolveAppSettings('%A%-x-%B%', { A: '1', B: '2' })).toBe('1-x-2');
  expect(resolveAppSettings('plain', {})).toBe('plain');
  expect(thrown(() => resolveAppSettings('%MISSING%', {}))).toMatchObject({ code: 'HOST.SETTING_MISSING' });
  expect(() => resolveAppSettings('%MISSING%', {})).toThrow(/'MISSING'/);
});

test('isFunctionDisabled reads AzureWebJobs.<name>.Disabled', () => {
  expect(isFunctionDisabled('off', env.settings)).toBe(true);
  expect(isFunctionDisabled('OFF', env.settings)).toBe(true);
  expect(isFunctionDisabled('on', env.settings)).toBe(false);
});

test('connectionStringFor tries <name> then AzureWebJobs<name>', () => {
  expect(connectionStringFor('Storage', { AzureWebJobsStorage: 'x' })).toBe('x');
  expect(thrown(() => connectionStringFor('Nope', {}))).toMatchObject({ code: 'QUEUE.CONNECTION_MISSING' });
});

describe('planApp', () => {
  test('plans the supported triggers', () => {
    const plan = planApp(
      [
        fn(
          'web',
          { type: 'httpTrigger', direction: 'in', route: 'items/{id:int}', methods: ['GET'] },
          {
            $return: { type: 'http', direction: 'out' },
            q: { type: 'queue', direction: 'out', queueName: 'out-q' },
          },
        ),
        fn('tick', { type: 'timerTrigger', direction: 'in', schedule: '%SCHEDULE%' }),
        fn('fast', { type: 'timerTrigger', direction: 'in', schedule: '*/5 * * * * *' }),
        fn('work', { type: 'queueTrigger', direction: 'in', queueName: 'Work-Items' }),
        fn('orch', { type: 'orchestrationTrigger', direction: 'in' }),
        fn('off', { type: 'httpTrigger', direction: 'in' }),
      ],
      hostSettings,
      env,
      NOW,
    );
    expect(plan.problems).toEqual([]);
    expect(plan.routes.map((r) => r.route)).toEqual(['items/{id:int}', 'off']);
    expect(plan.timers.map((t) => [t.fn.name, t.schedule.expression, t.monitored])).toEqual([
      ['tick', '0 */5 * * * *', true],
      ['fast', '*/5 * * * * *', false],
    ]);
    expect(plan.queues.map((q) => q.target)).toEqual([
      { bindingName: 'trigger', queueName: 'work-items', connection: 'AzureWebJobsStorage' },
    ]);
    expect(plan.usesDurable).toBe(true);
    expect([...plan.disabled]).toEqual(['off']);
  });

  test('fails loudly, naming the function and the binding type', () => {
    const plan = planApp(
      [
        fn('blobby', { type: 'blobTrigger', direction: 'in' }),
        fn('tabley', { type: 'httpTrigger', direction: 'in' }, { t: { type: 'table', direction: 'in' } }),
        fn('cosmic', { type: 'httpTrigger', direction: 'in' }, { c: { type: 'cosmosDB', direction: 'out' } }),
        fn('badCron', { type: 'timerTrigger', direction: 'in', schedule: '* * *' }),
        fn('noSetting', { type: 'timerTrigger', direction: 'in', schedule: '%NOPE%' }),
        fn('badRoute', { type: 'httpTrigger', direction: 'in', route: 'x/{id:wat}' }),
        fn('badQueue', { type: 'queueTrigger', direction: 'in', queueName: 'qqq', connection: 'Missing' }),
        fn(
          'httpOut',
          { type: 'timerTrigger', direction: 'in', schedule: '0 0 0 * * *' },
          { r: { type: 'http', direction: 'out' } },
        ),
      ],
      hostSettings,
      env,
      NOW,
    );
    expect(plan.problems).toEqual([
      expect.stringMatching(/^Function 'blobby': trigger type 'blobTrigger' is not supported/),
      expect.stringMatching(/^Function 'tabley': input binding 't' of type 'table' is not supported/),
      expect.stringMatching(/^Function 'cosmic': output binding 'c' of type 'cosmosDB' is not supported/),
      expect.stringMatching(/^Function 'badCron': .*expected 6 fields/),
      expect.stringMatching(/^Function 'noSetting': .*App setting 'NOPE'/),
      expect.stringMatching(/^Function 'badRoute': .*Unknown route constraint "wat"/),
      expect.stringMatching(/^Function 'badQueue': .*Connection 'Missing' is not set/),
      expect.stringMatching(/^Function 'httpOut': output binding 'r' of type 'http' needs an httpTrigger/),
    ]);
  });
});

test('routeConflicts: duplicate routes with overlapping methods, and built-in prefixes', () => {
  const http = (name: string, route: string, methods?: string[]): RegisteredFunction =>
    fn(name, { type: 'httpTrigger', direction: 'in', route, ...(methods ? { methods } : {}) });
  const noPrefix = parseHostJson({ version: '2.0', extensions: { http: { routePrefix: '' } } });
  const plan = planApp(
    [
      http('a', 'items', ['GET']),
      http('b', 'Items', ['GET', 'POST']),
      http('c', 'items', ['DELETE']),
      http('d', 'admin/thing'),
      http('e', 'other'),
    ],
    noPrefix,
    env,
    NOW,
  );
  expect(plan.problems).toEqual([
    "Functions 'a' and 'b' both serve route 'items' for the same method(s)",
    "Function 'd': route 'admin/thing' conflicts with the host's built-in /admin routes",
  ]);
});
