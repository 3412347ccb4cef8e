// Runs a standard v4 Node Functions app without the .NET host: loads the app through the real
// @azure/functions programming model, checks every binding, then serves HTTP triggers, timers,
// queue triggers and the durable extension on Azurite. This file wires the parts; each trigger
// lives in its own folder (http/, timer/, queue/, durable/) and key handling in keys/.
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { applySettingsToEnv, loadEntryFiles, readLocalSettings, resolveEntryFiles } from './app/appLoader';
import { readHostJson, type HostSettings } from './app/hostJson';
import { ControllableClock, type Clock } from './clock';
import { createCoreModule, installCoreModule } from './core/functionsCore';
import { Invoker, toErrorInfo, type InvocationOutcome, type InvocationRequest } from './core/invoker';
import { FunctionRegistry, type RegisteredFunction } from './core/registry';
import type { RpcLogLevel, RpcParameterBinding } from './core/types';
import { createDurableExtension } from './durable/index';
import type { DurableExtension } from './durable/extension';
import { HttpListener } from './http/httpServer';
import { createRequestHandler } from './http/requestHandler';
import { httpRouteFor, RouteTable, type HttpRoute } from './http/routeTable';
import { AzureBlobSecretStore } from './keys/azureBlobSecretStore';
import { computeHostId } from './keys/hostId';
import {
  DEFAULT_FUNCTION_KEY_NAME,
  DURABLE_SYSTEM_KEY_NAME,
  durableSystemKey,
  type HostKeys,
} from './keys/hostKeys';
import { loadHostKeys } from './keys/loadHostKeys';
import { MemorySecretStore, type SecretStore } from './keys/secretStore';
import { createLogger, parseLogLevel, type Logger } from './logger';
import { AzureQueueProvider } from './queue/azureQueueProvider';
import type { QueueProvider } from './queue/messageQueue';
import { QueueError } from './queue/queueErrors';
import { poisonQueueName } from './queue/queueName';
import { queueBindingTarget, QueueOutputWriter, type QueueBindingTarget } from './queue/queueOutputBindings';
import { QueuePoller } from './queue/queuePoller';
import { AzureBlobScheduleMonitor } from './timer/azureBlobScheduleMonitor';
import { checkTimeZone, UTC } from './timer/timeZone';
import { TimerTrigger } from './timer/timerTrigger';
import { parseTimerSchedule, shortestIntervalMs, type TimerSchedule } from './timer/timerSchedule';

export const HOST_VERSION = '0.1.0';
export const DEFAULT_HTTP_PORT = 7071;
const STORAGE_SETTING = 'AzureWebJobsStorage';
/** The real host stops monitoring schedules that fire more often than this. */
const MIN_MONITORED_INTERVAL_MS = 60_000;

export const SUPPORTED_TRIGGERS = [
  'httpTrigger',
  'timerTrigger',
  'queueTrigger',
  'orchestrationTrigger',
  'activityTrigger',
  'entityTrigger',
] as const;
export const SUPPORTED_INPUTS = ['durableClient'] as const;
export const SUPPORTED_OUTPUTS = ['http', 'queue'] as const;
const DURABLE_TRIGGERS = ['orchestrationtrigger', 'activitytrigger', 'entitytrigger'];

// ---------------------------------------------------------------------------------------------
// Errors

export type HostErrorCode =
  'HOST.STARTUP_FAILED' | 'HOST.APP_LOAD_FAILED' | 'HOST.SETTING_MISSING' | 'HOST.CONFIG_INVALID';

export class HostError extends Error {
  constructor(
    readonly code: HostErrorCode,
    message: string,
    /** One line per problem, each naming the function and binding. */
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length > 0 ? `${message}\n  - ${problems.join('\n  - ')}` : message);
    this.name = 'HostError';
  }
}

// ---------------------------------------------------------------------------------------------
// Environment: read once, validated, frozen. Only startHost (and the keys command) touch process.env.

export interface HostEnvironment {
  readonly masterKey: string | undefined;
  readonly functionKey: string | undefined;
  readonly clockOffsetMs: number;
  /** IANA zone for timer schedules, and where it came from. */
  readonly timeZone: string;
  readonly timeZoneWarning: string | undefined;
  readonly hostIdOverride: string | undefined;
  readonly logLevel: ReturnType<typeof parseLogLevel>;
  /** Every app setting (environment after local.settings.json), for %NAME% and connection names. */
  readonly settings: Readonly<Record<string, string>>;
}

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v && v.length > 0 ? v : undefined));

const envSchema = z.object({
  STRONGBOX_HOST_MASTER_KEY: optionalText,
  STRONGBOX_HOST_FUNCTION_KEY: optionalText,
  STRONGBOX_CLOCK_OFFSET_MS: z.coerce
    .number({ message: 'STRONGBOX_CLOCK_OFFSET_MS must be a number of milliseconds' })
    .finite()
    .nonnegative('STRONGBOX_CLOCK_OFFSET_MS must not be negative (the clock only moves forward)')
    .optional(),
  WEBSITE_TIME_ZONE: optionalText,
  TZ: optionalText,
  AzureFunctionsWebHost__hostid: optionalText,
  STRONGBOX_HOST_LOG: optionalText,
});

export function readHostEnvironment(env: NodeJS.ProcessEnv): HostEnvironment {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HostError('HOST.CONFIG_INVALID', `Invalid environment: ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  let timeZone = UTC;
  let timeZoneWarning: string | undefined;
  if (e.WEBSITE_TIME_ZONE) {
    timeZone = checkTimeZone(e.WEBSITE_TIME_ZONE);
  } else if (e.TZ) {
    // TZ is often set by the OS image (sometimes to POSIX strings); a bad one falls back to UTC.
    try {
      timeZone = checkTimeZone(e.TZ.replace(/^:/, ''));
    } catch {
      timeZoneWarning = `TZ="${e.TZ}" is not an IANA time zone; timer schedules use UTC`;
    }
  }
  const settings: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) settings[k] = v;
  return Object.freeze({
    masterKey: e.STRONGBOX_HOST_MASTER_KEY,
    functionKey: e.STRONGBOX_HOST_FUNCTION_KEY,
    clockOffsetMs: e.STRONGBOX_CLOCK_OFFSET_MS ?? 0,
    timeZone,
    timeZoneWarning,
    hostIdOverride: e.AzureFunctionsWebHost__hostid,
    logLevel: parseLogLevel(e.STRONGBOX_HOST_LOG),
    settings: Object.freeze(settings),
  });
}

/** Replaces `%NAME%` with app setting NAME, as the Functions host resolves binding expressions. */
export function resolveAppSettings(value: string, settings: Readonly<Record<string, string>>): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const v = settings[name];
    if (v === undefined) {
      throw new HostError('HOST.SETTING_MISSING', `App setting '${name}' (used as %${name}%) is not set`);
    }
    return v;
  });
}

/** `AzureWebJobs.<name>.Disabled` = true|1 disables a function, as in Azure. */
export function isFunctionDisabled(name: string, settings: Readonly<Record<string, string>>): boolean {
  const key = Object.keys(settings).find(
    (k) => k.toLowerCase() === `azurewebjobs.${name.toLowerCase()}.disabled`,
  );
  const v = key ? settings[key] : undefined;
  return v !== undefined && /^(true|1)$/i.test(v.trim());
}

/** A connection setting name → connection string: `<name>`, then `AzureWebJobs<name>` (Azure's lookup). */
export function connectionStringFor(name: string, settings: Readonly<Record<string, string>>): string {
  const v = settings[name] ?? settings[`AzureWebJobs${name}`];
  if (!v) {
    throw new QueueError(
      'QUEUE.CONNECTION_MISSING',
      `Connection '${name}' is not set (looked for app settings '${name}' and 'AzureWebJobs${name}')`,
    );
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Validation: everything the app registered is checked before anything starts.

interface TimerPlan {
  readonly fn: RegisteredFunction;
  readonly schedule: TimerSchedule;
  readonly runOnStartup: boolean;
  readonly monitored: boolean;
}

interface QueuePlan {
  readonly fn: RegisteredFunction;
  readonly target: QueueBindingTarget;
}

export interface AppPlan {
  routes: HttpRoute[];
  timers: TimerPlan[];
  queues: QueuePlan[];
  usesDurable: boolean;
  disabled: Set<string>;
  problems: string[];
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sameType(a: unknown, b: string): boolean {
  return String(a).toLowerCase() === b.toLowerCase();
}

/** Checks every function and binding and plans the triggers; `problems` lists what is unsupported. */
export function planApp(
  functions: readonly RegisteredFunction[],
  hostSettings: HostSettings,
  env: HostEnvironment,
  now: number,
): AppPlan {
  const plan: AppPlan = {
    routes: [],
    timers: [],
    queues: [],
    usesDurable: false,
    disabled: new Set(),
    problems: [],
  };
  const resolve = (v: string): string => resolveAppSettings(v, env.settings);
  const problem = (fn: RegisteredFunction, msg: string): void => {
    plan.problems.push(`Function '${fn.name}': ${msg}`);
  };
  for (const fn of functions) {
    if (isFunctionDisabled(fn.name, env.settings)) plan.disabled.add(fn.name);
    const triggerType = fn.trigger.type;
    if (!SUPPORTED_TRIGGERS.some((t) => sameType(t, triggerType))) {
      problem(
        fn,
        `trigger type '${triggerType}' is not supported by this host (supported: ${SUPPORTED_TRIGGERS.join(', ')})`,
      );
      continue;
    }
    if (DURABLE_TRIGGERS.includes(triggerType.toLowerCase())) plan.usesDurable = true;
    for (const [name, b] of Object.entries(fn.bindings)) {
      if (name === fn.triggerName) continue;
      const type = String(b.type);
      if (b.direction === 'in') {
        if (!SUPPORTED_INPUTS.some((t) => sameType(t, type))) {
          problem(
            fn,
            `input binding '${name}' of type '${type}' is not supported (supported inputs: ${SUPPORTED_INPUTS.join(', ')})`,
          );
        } else plan.usesDurable = true;
      } else if (b.direction === 'out') {
        if (!SUPPORTED_OUTPUTS.some((t) => sameType(t, type))) {
          problem(
            fn,
            `output binding '${name}' of type '${type}' is not supported (supported outputs: ${SUPPORTED_OUTPUTS.join(', ')})`,
          );
        } else if (sameType(type, 'http') && !sameType(triggerType, 'httpTrigger')) {
          problem(fn, `output binding '${name}' of type 'http' needs an httpTrigger`);
        } else if (sameType(type, 'queue')) {
          try {
            const target = queueBindingTarget(name, b, resolve);
            connectionStringFor(target.connection, env.settings);
          } catch (err) {
            problem(fn, `queue output '${name}': ${errorText(err)}`);
          }
        }
      } else {
        problem(fn, `binding '${name}' has direction '${String(b.direction)}', which is not supported`);
      }
    }
    try {
      if (sameType(triggerType, 'httpTrigger')) plan.routes.push(httpRouteFor(fn, hostSettings.routePrefix));
      else if (sameType(triggerType, 'timerTrigger')) plan.timers.push(planTimer(fn, env, resolve, now));
      else if (sameType(triggerType, 'queueTrigger')) {
        const target = queueBindingTarget(fn.triggerName, fn.trigger, resolve);
        connectionStringFor(target.connection, env.settings);
        plan.queues.push({ fn, target });
      }
    } catch (err) {
      problem(fn, `${triggerType} '${fn.triggerName}': ${errorText(err)}`);
    }
  }
  plan.problems.push(...routeConflicts(plan.routes));
  return plan;
}

/** The real host's built-in routes; a function route may not start with them. */
const RESERVED_ROUTE_PREFIXES = ['admin', 'runtime'];

/** Two functions on the same template and an overlapping method, or a route over a built-in one. */
export function routeConflicts(routes: readonly HttpRoute[]): string[] {
  const problems: string[] = [];
  for (const [i, a] of routes.entries()) {
    const first = a.template.segments[0]?.parts;
    const literal =
      first?.length === 1 && first[0]?.kind === 'literal' ? first[0].text.toLowerCase() : undefined;
    if (literal && RESERVED_ROUTE_PREFIXES.includes(literal)) {
      problems.push(
        `Function '${a.fn.name}': route '${a.template.text}' conflicts with the host's built-in /${literal} routes`,
      );
    }
    for (const b of routes.slice(i + 1)) {
      if (a.template.text.toLowerCase() !== b.template.text.toLowerCase()) continue;
      const overlap = !a.methods || !b.methods || a.methods.some((m) => b.methods?.includes(m));
      if (overlap) {
        problems.push(
          `Functions '${a.fn.name}' and '${b.fn.name}' both serve route '${a.template.text}' for the same method(s)`,
        );
      }
    }
  }
  return problems;
}

function planTimer(
  fn: RegisteredFunction,
  env: HostEnvironment,
  resolve: (v: string) => string,
  now: number,
): TimerPlan {
  const raw = fn.trigger.schedule;
  if (typeof raw !== 'string' || raw.trim() === '') throw new Error('the timer has no schedule');
  const schedule = parseTimerSchedule(resolve(raw), env.timeZone);
  // useMonitor defaults to true, except for schedules that fire more than once a minute (Azure).
  const useMonitor = fn.trigger.useMonitor;
  const monitored =
    useMonitor === false
      ? false
      : useMonitor === true || shortestIntervalMs(schedule, now) >= MIN_MONITORED_INTERVAL_MS;
  return { fn, schedule, runOnStartup: fn.trigger.runOnStartup === true, monitored };
}

// ---------------------------------------------------------------------------------------------
// The running host

export interface StartHostOptions {
  readonly appDir: string;
  /** Default: local.settings.json Host.LocalHttpPort, else 7071. 0 picks a free port. */
  readonly port?: number;
  /** Storage for keys, timer status, queues and durable state. Default: env AzureWebJobsStorage. */
  readonly connectionString?: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export interface RunningHost {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  readonly hostId: string;
  readonly registry: FunctionRegistry;
  readonly clock: Clock;
  readonly keys: HostKeys;
  /** Stops triggers, drains HTTP, stops durable, runs appTerminate hooks. Safe to call twice. */
  stop(): Promise<void>;
}

const LOG_BY_LEVEL: Record<RpcLogLevel, keyof Logger | undefined> = {
  trace: 'debug',
  debug: 'debug',
  information: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'error',
  none: undefined,
};

export async function startHost(options: StartHostOptions): Promise<RunningHost> {
  const appDir = path.resolve(options.appDir);
  const hostSettings = readHostJson(appDir);
  const local = readLocalSettings(appDir);
  applySettingsToEnv(local.values);
  // An explicit connection wins over local.settings.json, and the app sees the same value.
  if (options.connectionString) process.env[STORAGE_SETTING] = options.connectionString;
  const bootEnv = readHostEnvironment(process.env);
  const logger = options.logger ?? createLogger(bootEnv.logLevel);
  const clock = options.clock ?? new ControllableClock(bootEnv.clockOffsetMs);
  if (bootEnv.timeZoneWarning) logger.warn(bootEnv.timeZoneWarning);

  const listener = new HttpListener(logger);
  const port = await listener.listen(options.port ?? local.host.localHttpPort ?? DEFAULT_HTTP_PORT);
  const baseUrl = `http://127.0.0.1:${port}`;
  // durable-functions' getClient rewrites URLs to http://localhost:7071 when this is unset.
  process.env.WEBSITE_HOSTNAME ??= `127.0.0.1:${port}`;
  const env = readHostEnvironment(process.env);

  const registry = new FunctionRegistry();
  const uninstallCore = installCoreModule(
    createCoreModule(registry, (level, category, msg) => {
      const method = LOG_BY_LEVEL[level];
      if (method) logger[method](`[${category}] ${msg}`);
    }),
  );
  const triggerStoppers: (() => Promise<void>)[] = [];
  let durableStopper: (() => Promise<void>) | undefined;
  const appHookData: Record<string, unknown> = {};
  let appStarted = false;

  const settle = async (what: string, work: () => Promise<unknown>): Promise<void> => {
    try {
      await work();
    } catch (err) {
      logger.warn(`${what} failed while stopping: ${errorText(err)}`);
    }
  };
  const shutdown = async (): Promise<void> => {
    // Triggers first so nothing new starts, then in-flight HTTP (which may start orchestrations),
    // then durable, then the app's appTerminate hooks after its last invocation.
    await Promise.all(triggerStoppers.map((stop) => settle('A trigger', stop)));
    await settle('The HTTP listener', () => listener.close());
    if (durableStopper) await settle('The durable extension', durableStopper);
    if (appStarted) {
      for (const hook of registry.hooksFor('appTerminate')) {
        await settle('An appTerminate hook', () => Promise.resolve(hook({ hookData: appHookData })));
      }
    }
    uninstallCore();
  };

  try {
    await loadApp(appDir, registry, logger);
    for (const hook of registry.hooksFor('appStart'))
      await hook({ hookData: appHookData, functionAppDirectory: appDir });
    appStarted = true;
    const capabilities = await registry.programmingModel.getCapabilities({});
    if (capabilities.HttpUri) {
      throw new HostError(
        'HOST.STARTUP_FAILED',
        'HTTP streaming (app.setup({ enableHttpStream: true })) is not supported by this host',
      );
    }
    registry.close();

    const plan = planApp(registry.all(), hostSettings, env, clock.now());
    const storage = env.settings[STORAGE_SETTING];
    const needsStorage = plan.queues.length > 0 || plan.usesDurable || plan.timers.some((t) => t.monitored);
    if (!storage && needsStorage) {
      plan.problems.push(
        `${STORAGE_SETTING} is not set: queue triggers, monitored timers and durable functions need storage (Azurite locally)`,
      );
    }
    if (plan.problems.length > 0)
      throw new HostError('HOST.STARTUP_FAILED', 'The app cannot run on this host:', plan.problems);

    const hostId = computeHostId(os.hostname(), appDir, env.hostIdOverride);
    const secretStore: SecretStore = storage
      ? new AzureBlobSecretStore(storage, hostId)
      : new MemorySecretStore();
    if (!storage)
      logger.warn(
        `${STORAGE_SETTING} is not set: host keys are generated in memory and change at every start`,
      );
    const { keys, generated } = await loadHostKeys(secretStore, os.hostname(), {
      masterKey: env.masterKey,
      defaultFunctionKey: env.functionKey,
    }).catch((err: unknown) => {
      throw new HostError(
        'HOST.STARTUP_FAILED',
        `Could not read or create the host keys (${secretStore.location}): ${errorText(err)}. Is Azurite running?`,
      );
    });

    const invoker = new Invoker(registry, logger, hostSettings.functionTimeoutMs);
    const queues: QueueProvider = new AzureQueueProvider((name) => connectionStringFor(name, env.settings));
    const outputs = new QueueOutputWriter(queues, hostSettings.queues.messageEncoding, (v) =>
      resolveAppSettings(v, env.settings),
    );
    const invoke = async (
      fn: RegisteredFunction,
      request: InvocationRequest,
      reason?: string,
    ): Promise<InvocationOutcome> => {
      const outcome = await invoker.invoke(fn, request, reason ? { reason } : {});
      if (!outcome.ok) return outcome;
      try {
        await outputs.write(fn, outcome);
        return outcome;
      } catch (err) {
        // Azure fails the invocation when an output binding cannot be flushed; a queue message is retried.
        logger.error(`Function '${fn.name}': writing its queue output failed: ${errorText(err)}`);
        return { ...outcome, ok: false, error: toErrorInfo(err) };
      }
    };

    let durable: DurableExtension | undefined;
    if (plan.usesDurable) {
      durable = createDurableExtension({
        registry,
        invoker,
        clock,
        logger,
        connectionString: connectionStringFor(hostSettings.durable.connectionName, env.settings),
        hubName: hostSettings.durable.hubName,
        baseUrl,
        systemKey: durableSystemKey(keys),
        masterKey: keys.masterKey,
      });
      if (!durable)
        throw new HostError(
          'HOST.STARTUP_FAILED',
          'The app uses Durable Functions but the durable extension did not load',
        );
      const extension = durable;
      // durableClient inputs on non-HTTP triggers (timers, queues, activities) talk to this host's
      // own origin; HTTP invocations pass the request's origin themselves (requestHandler.ts).
      invoker.setBindingInputs((fn) => durableClientBindings(fn, extension, baseUrl));
      await durable.start();
      const started = durable;
      durableStopper = () => started.stop();
    }

    const timers: TimerTrigger[] = [];
    for (const t of plan.timers) {
      if (plan.disabled.has(t.fn.name)) continue;
      const timer = new TimerTrigger({
        fn: t.fn,
        schedule: t.schedule,
        runOnStartup: t.runOnStartup,
        monitor: t.monitored && storage ? new AzureBlobScheduleMonitor(storage, hostId) : undefined,
        clock,
        logger,
        invoke: (request, reason) => invoke(t.fn, request, reason),
      });
      await timer.start().catch((err: unknown) => {
        throw new HostError(
          'HOST.STARTUP_FAILED',
          `Timer '${t.fn.name}': could not read its schedule status: ${errorText(err)}`,
        );
      });
      timers.push(timer);
      triggerStoppers.push(() => timer.stop());
    }

    for (const q of plan.queues) {
      if (plan.disabled.has(q.fn.name)) continue;
      const poller = new QueuePoller({
        fn: q.fn,
        queue: queues.queue(q.target.connection, q.target.queueName),
        poisonQueue: queues.queue(q.target.connection, poisonQueueName(q.target.queueName)),
        settings: hostSettings.queues,
        logger,
        invoke: (request, reason) => invoke(q.fn, request, reason),
      });
      await poller.start().catch((err: unknown) => {
        throw new HostError('HOST.STARTUP_FAILED', `Queue trigger '${q.fn.name}': ${errorText(err)}`);
      });
      triggerStoppers.push(() => poller.stop());
    }
    for (const fn of registry.all()) {
      if (fn.retryOptions)
        logger.warn(`Function '${fn.name}': retry policies are not supported by this host and are ignored`);
    }

    const routes = new RouteTable(plan.routes.filter((r) => !plan.disabled.has(r.fn.name)));
    const startedAt = Date.now();
    listener.setHandler(
      createRequestHandler({
        routes,
        keys,
        durable,
        logger,
        invoke: (fn, request) => invoke(fn, request),
        admin: {
          clock,
          hostStatus: () => ({
            id: hostId,
            state: 'Running',
            version: HOST_VERSION,
            processUptimeMs: Date.now() - startedAt,
            functions: describeFunctions(registry.all(), plan, timers),
          }),
        },
      }),
    );

    printStartup({ logger, port, hostSettings, plan, registry, timers, env, generated, secretStore, appDir });
    let stopping: Promise<void> | undefined;
    return {
      port,
      baseUrl,
      hostId,
      registry,
      clock,
      keys,
      stop: () => (stopping ??= shutdown()),
    };
  } catch (err) {
    await shutdown().catch(() => undefined);
    throw err;
  }
}

/** The `durableClient` input bindings of a function, filled with the client binding data. */
export function durableClientBindings(
  fn: RegisteredFunction,
  durable: DurableExtension,
  origin: string,
): RpcParameterBinding[] {
  const inputs: RpcParameterBinding[] = [];
  for (const [name, binding] of Object.entries(fn.bindings)) {
    if (binding.direction !== 'in' || String(binding.type).toLowerCase() !== 'durableclient') continue;
    inputs.push({ name, data: durable.clientBindingData(origin) });
  }
  return inputs;
}

async function loadApp(appDir: string, registry: FunctionRegistry, logger: Logger): Promise<void> {
  let files: string[];
  try {
    files = resolveEntryFiles(appDir);
  } catch (err) {
    throw new HostError(
      'HOST.APP_LOAD_FAILED',
      `Cannot find the app's code: ${errorText(err)} Build it first (npm run build) and check package.json "main".`,
    );
  }
  logger.debug(`Loading ${files.length} entry file(s): ${files.join(', ')}`);
  try {
    await loadEntryFiles(files);
  } catch (err) {
    throw new HostError(
      'HOST.APP_LOAD_FAILED',
      `Loading the app failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
  }
  if (!registry.hasProgrammingModel || registry.all().length === 0) {
    throw new HostError(
      'HOST.APP_LOAD_FAILED',
      `The app registered no functions (files: ${files.join(', ')}). Does it call app.http/app.timer/… from @azure/functions?`,
    );
  }
}

function triggerDetails(
  fn: RegisteredFunction,
  plan: AppPlan,
  timers: readonly TimerTrigger[],
): Record<string, unknown> {
  const route = plan.routes.find((r) => r.fn === fn);
  if (route) return { route: route.route, methods: route.methods ?? null, authLevel: route.authLevel };
  const timer = plan.timers.find((t) => t.fn === fn);
  if (timer) {
    const next = timers.find((t) => t.functionName === fn.name)?.nextOccurrence;
    return {
      schedule: timer.schedule.expression,
      monitored: timer.monitored,
      nextOccurrence: next === undefined ? null : new Date(next).toISOString(),
    };
  }
  const queue = plan.queues.find((q) => q.fn === fn);
  if (queue) return { queueName: queue.target.queueName, connection: queue.target.connection };
  return {};
}

function describeFunctions(
  functions: readonly RegisteredFunction[],
  plan: AppPlan,
  timers: readonly TimerTrigger[],
): Record<string, unknown>[] {
  return functions.map((fn) => ({
    name: fn.name,
    trigger: fn.trigger.type,
    isDisabled: plan.disabled.has(fn.name),
    ...triggerDetails(fn, plan, timers),
  }));
}

interface StartupReport {
  logger: Logger;
  port: number;
  hostSettings: HostSettings;
  plan: AppPlan;
  registry: FunctionRegistry;
  timers: readonly TimerTrigger[];
  env: HostEnvironment;
  generated: boolean;
  secretStore: SecretStore;
  appDir: string;
}

/** The function list as Core Tools prints it, then where the keys are. */
function printStartup(r: StartupReport): void {
  const lines = ['Functions:', ''];
  for (const fn of r.registry.all()) {
    const disabled = r.plan.disabled.has(fn.name) ? ' (disabled)' : '';
    const route = r.plan.routes.find((x) => x.fn === fn);
    if (route) {
      const methods = route.methods ? `[${route.methods.join(',')}] ` : '';
      const prefix = r.hostSettings.routePrefix ? `${r.hostSettings.routePrefix}/` : '';
      lines.push(`  ${fn.name}: ${methods}http://localhost:${r.port}/${prefix}${route.route}${disabled}`);
    } else {
      lines.push(`  ${fn.name}: ${fn.trigger.type}${disabled}`);
    }
  }
  r.logger.info(lines.join('\n'));
  for (const t of r.timers) {
    const next = t.nextOccurrence;
    r.logger.info(
      `Timer '${t.functionName}': next occurrence ${next === undefined ? 'none' : new Date(next).toISOString()}`,
    );
  }
  const overridden = [
    r.env.masterKey ? 'master (STRONGBOX_HOST_MASTER_KEY)' : undefined,
    r.env.functionKey ? `function '${DEFAULT_FUNCTION_KEY_NAME}' (STRONGBOX_HOST_FUNCTION_KEY)` : undefined,
  ].filter(Boolean);
  r.logger.info(
    `Host keys: master, function key '${DEFAULT_FUNCTION_KEY_NAME}', system key '${DURABLE_SYSTEM_KEY_NAME}' ` +
      `(${r.generated ? 'generated now' : 'loaded'}; values are not logged)` +
      (overridden.length > 0 ? `; overridden from the environment: ${overridden.join(', ')}` : '') +
      `. Read them from ${r.secretStore.location}, or run: strongbox-host keys ${r.appDir}`,
  );
  r.logger.info(`Host started (Strongbox host ${HOST_VERSION}) on http://127.0.0.1:${r.port}`);
}

// ---------------------------------------------------------------------------------------------
// `strongbox-host keys`: print the stored keys (for curl and Storage-less tooling).

export async function readStoredHostKeys(
  appDir: string,
): Promise<{ hostId: string; keys: HostKeys; location: string }> {
  const dir = path.resolve(appDir);
  applySettingsToEnv(readLocalSettings(dir).values);
  const env = readHostEnvironment(process.env);
  const storage = env.settings[STORAGE_SETTING];
  if (!storage)
    throw new HostError('HOST.SETTING_MISSING', `${STORAGE_SETTING} is not set; keys live in storage`);
  const hostId = computeHostId(os.hostname(), dir, env.hostIdOverride);
  const store = new AzureBlobSecretStore(storage, hostId);
  const { keys } = await loadHostKeys(store, os.hostname(), {
    masterKey: env.masterKey,
    defaultFunctionKey: env.functionKey,
  });
  return { hostId, keys, location: store.location };
}
