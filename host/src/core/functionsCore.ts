// The `@azure/functions-core` module that the real Node worker provides. `@azure/functions` (any copy,
// in any app folder) requires it lazily; we answer with this object so that registration and
// invocation go through the library's own programming model.
import Module from 'node:module';
import type { FunctionRegistry } from './registry';
import type {
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  HookName,
  ProgrammingModel,
  RpcLogLevel,
} from './types';

const CORE_MODULE_NAME = '@azure/functions-core';
const KNOWN_HOOKS: readonly HookName[] = [
  'appStart',
  'appTerminate',
  'preInvocation',
  'postInvocation',
  'log',
];

class CoreDisposable {
  private disposed = false;
  constructor(private readonly callback: () => void) {}
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.callback();
  }
}

export function createCoreModule(
  registry: FunctionRegistry,
  systemLog: (level: RpcLogLevel, category: string, msg: string) => void,
): Record<string, unknown> {
  return {
    version: '3.10.1',
    hostVersion: '4.1000.0',
    Disposable: CoreDisposable,
    setProgrammingModel(model: ProgrammingModel): void {
      registry.setProgrammingModel(model);
    },
    getProgrammingModel(): ProgrammingModel {
      return registry.programmingModel;
    },
    registerFunction(metadata: FunctionMetadata, handler: FunctionCallback): CoreDisposable {
      registry.register(metadata, handler);
      return new CoreDisposable(() => registry.unregister(metadata.name));
    },
    registerHook(name: string, callback: HookCallback): CoreDisposable {
      if (!KNOWN_HOOKS.includes(name as HookName)) {
        // The library maps this exact shape to a "requires a newer host" message.
        const err = new RangeError(`Unrecognized hook "${name}"`) as RangeError & {
          isAzureFunctionsSystemError: boolean;
        };
        err.isAzureFunctionsSystemError = true;
        throw err;
      }
      return new CoreDisposable(registry.addHook(name as HookName, callback));
    },
    log(level: RpcLogLevel, category: string, msg: string): void {
      systemLog(level, category, msg);
    },
  };
}

type RequireFn = (this: NodeJS.Module, id: string) => unknown;

/**
 * Makes `require('@azure/functions-core')` return `core` everywhere in this process, as the worker
 * does with its require proxy. Returns a function that undoes it.
 */
export function installCoreModule(core: Record<string, unknown>): () => void {
  const proto = Module.prototype as unknown as { require: RequireFn };
  const original = proto.require;
  proto.require = function patchedRequire(this: NodeJS.Module, id: string): unknown {
    if (id === CORE_MODULE_NAME) return core;
    return original.call(this, id);
  };
  return () => {
    proto.require = original;
  };
}
