// Factory for the host's Durable Functions support. Returns undefined when the app registers no
// durable functions, so plain apps need no durable storage at all.
import type { Clock } from '../clock';
import type { Invoker } from '../core/invoker';
import type { FunctionRegistry } from '../core/registry';
import type { Logger } from '../logger';
import { clientBindingData } from './clientBinding';
import { DurableEngine } from './engine';
import type { DurableExtension } from './extension';
import { ManagementApi } from './managementApi';
import { TableDurableStore } from './tableStore';

export interface DurableExtensionDeps {
  registry: FunctionRegistry;
  invoker: Invoker;
  clock: Clock;
  logger: Logger;
  connectionString: string;
  hubName: string;
  /** e.g. http://127.0.0.1:7071 */
  baseUrl: string;
  /** The durabletask_extension system key: the webhook API and the client binding's code= use it. */
  systemKey: string;
  /** Also accepted on the webhook API (the master key). */
  masterKey?: string;
}

const DURABLE_TRIGGERS = ['orchestrationtrigger', 'activitytrigger', 'entitytrigger'];

export function usesDurable(registry: FunctionRegistry): boolean {
  return registry
    .all()
    .some(
      (f) =>
        DURABLE_TRIGGERS.includes(f.trigger.type.toLowerCase()) ||
        Object.values(f.bindings).some((b) => String(b.type).toLowerCase() === 'durableclient'),
    );
}

export function createDurableExtension(deps: DurableExtensionDeps): DurableExtension | undefined {
  if (!usesDurable(deps.registry)) return undefined;
  const store = new TableDurableStore(deps.connectionString, deps.hubName);
  const engine = new DurableEngine({
    registry: deps.registry,
    invoker: deps.invoker,
    clock: deps.clock,
    logger: deps.logger,
    store,
  });
  const api = new ManagementApi({
    engine,
    clock: deps.clock,
    hubName: deps.hubName,
    connectionName: 'Storage',
    systemKey: deps.systemKey,
    ...(deps.masterKey ? { extraKeys: [deps.masterKey] } : {}),
  });
  return {
    start: () => engine.start(),
    stop: () => engine.stop(),
    handleHttp: (req, res, body) => api.handle(req, res, body),
    clientBindingData: (origin) => ({
      string: JSON.stringify(clientBindingData(api, deps.hubName, origin || deps.baseUrl)),
    }),
  };
}

export type { DurableExtension } from './extension';
