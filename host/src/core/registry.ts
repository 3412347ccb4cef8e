// What the loaded app registered through @azure/functions-core: functions, hooks and the programming
// model. One host process serves one app, so there is one registry per process.
import type {
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  HookName,
  ProgrammingModel,
  RpcBindingInfo,
  RpcRetryOptions,
} from './types';

export interface RegisteredFunction {
  readonly name: string;
  readonly bindings: Record<string, RpcBindingInfo>;
  /** The binding name and info of the single trigger binding. */
  readonly triggerName: string;
  readonly trigger: RpcBindingInfo & { type: string };
  readonly handler: FunctionCallback;
  readonly retryOptions: RpcRetryOptions | undefined;
}

export class RegistrationError extends Error {
  readonly code = 'HOST.REGISTRATION';
}

export class FunctionRegistry {
  private readonly functions = new Map<string, RegisteredFunction>();
  private readonly hooks: Record<HookName, HookCallback[]> = {
    appStart: [],
    appTerminate: [],
    preInvocation: [],
    postInvocation: [],
    log: [],
  };
  private model: ProgrammingModel | undefined;
  private closed = false;

  setProgrammingModel(model: ProgrammingModel): void {
    this.model = model;
  }

  get programmingModel(): ProgrammingModel {
    if (!this.model)
      throw new RegistrationError('The app registered no functions (no programming model was set)');
    return this.model;
  }

  get hasProgrammingModel(): boolean {
    return this.model !== undefined;
  }

  register(metadata: FunctionMetadata, handler: FunctionCallback): RegisteredFunction {
    if (this.closed)
      throw new RegistrationError(`Function "${metadata.name}" registered after app startup finished`);
    if (this.functions.has(metadata.name.toLowerCase())) {
      throw new RegistrationError(`A function named "${metadata.name}" is already registered`);
    }
    const triggers = Object.entries(metadata.bindings).filter(([, b]) => /trigger$/i.test(b.type ?? ''));
    if (triggers.length !== 1) {
      throw new RegistrationError(
        `Function "${metadata.name}" must have exactly one trigger, found ${triggers.length}`,
      );
    }
    const [triggerName, trigger] = triggers[0] as [string, RpcBindingInfo];
    const fn: RegisteredFunction = {
      name: metadata.name,
      bindings: metadata.bindings,
      triggerName,
      trigger: { ...trigger, type: String(trigger.type) },
      handler,
      retryOptions: metadata.retryOptions,
    };
    this.functions.set(metadata.name.toLowerCase(), fn);
    return fn;
  }

  unregister(name: string): void {
    this.functions.delete(name.toLowerCase());
  }

  addHook(name: HookName, callback: HookCallback): () => void {
    const list = this.hooks[name];
    list.push(callback);
    return () => {
      const i = list.indexOf(callback);
      if (i >= 0) list.splice(i, 1);
    };
  }

  hooksFor(name: HookName): readonly HookCallback[] {
    return this.hooks[name];
  }

  /** Functions are names, case-insensitive, as in the real host. */
  get(name: string): RegisteredFunction | undefined {
    return this.functions.get(name.toLowerCase());
  }

  all(): RegisteredFunction[] {
    return [...this.functions.values()];
  }

  byTriggerType(type: string): RegisteredFunction[] {
    return this.all().filter((f) => f.trigger.type.toLowerCase() === type.toLowerCase());
  }

  close(): void {
    this.closed = true;
  }
}
