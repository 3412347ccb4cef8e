// Runs one invocation through the app's programming model, step for step as the Node worker's
// InvocationHandler does: getInvocationModel → getArguments → preInvocation hooks → invokeFunction →
// postInvocation hooks → getResponse. Every trigger (HTTP, timer, queue, durable) comes through here.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import type { FunctionRegistry, RegisteredFunction } from './registry';
import type {
  CoreInvocationContext,
  RpcLogCategory,
  RpcLogLevel,
  RpcParameterBinding,
  RpcTypedData,
} from './types';

export interface InvocationRequest {
  inputData: RpcParameterBinding[];
  triggerMetadata?: Record<string, RpcTypedData>;
  retryContext?: { retryCount: number; maxRetryCount: number; exception?: unknown };
}

export interface InvocationOptions {
  invocationId?: string;
  /** Shown in the "Executing" log line, as Core Tools does (e.g. "This function was programmatically called via the host APIs."). */
  reason?: string;
  /** Called with the library's InvocationContext once the function has run (durable reads its orchestration state here). */
  inspectContext?: (context: unknown) => void;
  /** Suppress the per-invocation log lines (the durable engine logs its own, coarser lines). */
  quiet?: boolean;
}

export interface InvocationOutcome {
  invocationId: string;
  ok: boolean;
  returnValue: RpcTypedData | null | undefined;
  outputData: RpcParameterBinding[];
  error?: { message: string; stack?: string };
  durationMs: number;
}

export class FunctionTimeoutError extends Error {
  readonly code = 'HOST.FUNCTION_TIMEOUT';
}

/**
 * Input bindings the host fills in itself (not from the trigger), e.g. a `durableClient` input. Called
 * for every invocation; bindings the request already carries (by name) are left as they are.
 */
export type BindingInputsProvider = (fn: RegisteredFunction) => RpcParameterBinding[];

export class Invoker {
  private readonly appHookData: Record<string, unknown> = {};
  private bindingInputs: BindingInputsProvider | undefined;

  constructor(
    private readonly registry: FunctionRegistry,
    private readonly logger: Logger,
    private readonly functionTimeoutMs: number,
  ) {}

  /**
   * Sets the provider of host-filled input bindings. The real host binds a `durableClient` input on
   * any trigger (timer, queue, activity), not only HTTP; the durable extension registers here once it
   * has started.
   */
  setBindingInputs(provider: BindingInputsProvider | undefined): void {
    this.bindingInputs = provider;
  }

  async invoke(
    fn: RegisteredFunction,
    request: InvocationRequest,
    options: InvocationOptions = {},
  ): Promise<InvocationOutcome> {
    const invocationId = options.invocationId ?? randomUUID();
    const started = process.hrtime.bigint();
    if (!options.quiet) {
      this.logger.info(
        `Executing 'Functions.${fn.name}' (Reason='${options.reason ?? triggerReason(fn)}', Id=${invocationId})`,
      );
    }
    const given = new Set(request.inputData.map((b) => b.name));
    const filled = (this.bindingInputs?.(fn) ?? []).filter((b) => !given.has(b.name));
    const coreCtx: CoreInvocationContext = {
      invocationId,
      request: {
        inputData: filled.length > 0 ? [...request.inputData, ...filled] : request.inputData,
        triggerMetadata: request.triggerMetadata ?? {},
        retryContext: request.retryContext,
      },
      metadata: { name: fn.name, bindings: fn.bindings },
      state: undefined,
      log: (level, category, msg) => this.userLog(fn, invocationId, level, category, msg),
    };
    let outcome: Omit<InvocationOutcome, 'durationMs'>;
    try {
      outcome = await withTimeout(this.run(fn, coreCtx, options), this.functionTimeoutMs, fn.name);
    } catch (err) {
      outcome = { invocationId, ok: false, returnValue: undefined, outputData: [], error: toErrorInfo(err) };
    }
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (!options.quiet) {
      const status = outcome.ok ? 'Succeeded' : 'Failed';
      const line = `Executed 'Functions.${fn.name}' (${status}, Id=${invocationId}, Duration=${Math.round(durationMs)}ms)`;
      if (outcome.ok) this.logger.info(line);
      else this.logger.error(`${line}\n  ${outcome.error?.message ?? ''}`);
    }
    return { ...outcome, durationMs };
  }

  private async run(
    fn: RegisteredFunction,
    coreCtx: CoreInvocationContext,
    options: InvocationOptions,
  ): Promise<Omit<InvocationOutcome, 'durationMs'>> {
    const model = this.registry.programmingModel.getInvocationModel(coreCtx);
    const { context, inputs: initialInputs } = await model.getArguments();
    const hookData: Record<string, unknown> = {};

    const pre = {
      hookData,
      appHookData: this.appHookData,
      invocationContext: context,
      inputs: initialInputs,
      functionCallback: fn.handler,
    };
    coreCtx.state = 'preInvocationHooks';
    for (const hook of this.registry.hooksFor('preInvocation')) await hook(pre);
    coreCtx.state = 'invocation';

    let result: unknown;
    let error: unknown;
    try {
      result = await model.invokeFunction(context, pre.inputs, pre.functionCallback);
    } catch (err) {
      error = err;
    }
    options.inspectContext?.(context);

    const post = {
      hookData,
      appHookData: this.appHookData,
      invocationContext: context,
      inputs: pre.inputs,
      result,
      error,
    };
    coreCtx.state = 'postInvocationHooks';
    for (const hook of this.registry.hooksFor('postInvocation')) await hook(post);
    coreCtx.state = undefined;

    if (post.error !== undefined && post.error !== null) {
      return {
        invocationId: coreCtx.invocationId,
        ok: false,
        returnValue: undefined,
        outputData: [],
        error: toErrorInfo(post.error),
      };
    }
    const response = await model.getResponse(context, post.result);
    return {
      invocationId: coreCtx.invocationId,
      ok: true,
      returnValue: response.returnValue,
      outputData: response.outputData ?? [],
    };
  }

  private userLog(
    fn: RegisteredFunction,
    invocationId: string,
    level: RpcLogLevel,
    category: RpcLogCategory,
    msg: string,
  ): void {
    const line = `[${fn.name}] ${msg}`;
    if (level === 'error' || level === 'critical') this.logger.error(line);
    else if (level === 'warning') this.logger.warn(line);
    else if (level === 'debug' || level === 'trace') this.logger.debug(line);
    else if (level !== 'none') this.logger.info(line);
    for (const hook of this.registry.hooksFor('log')) {
      try {
        void hook({
          hookData: {},
          appHookData: this.appHookData,
          message: msg,
          level,
          category,
          invocationId,
        });
      } catch {
        // A failing log hook must not fail the invocation.
      }
    }
  }
}

function triggerReason(fn: RegisteredFunction): string {
  const t = fn.trigger.type.toLowerCase();
  if (t === 'httptrigger') return 'This function was programmatically called via the host APIs.';
  if (t === 'timertrigger') return 'Timer fired';
  if (t === 'queuetrigger') return 'New queue message detected';
  return t;
}

export function toErrorInfo(err: unknown): { message: string; stack?: string } {
  if (err instanceof Error) return { message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
  return { message: typeof err === 'string' ? err : JSON.stringify(err) };
}

function withTimeout<T>(work: Promise<T>, ms: number, name: string): Promise<T> {
  if (!Number.isFinite(ms) || ms <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new FunctionTimeoutError(`Timeout value of ${ms} ms exceeded by function 'Functions.${name}'`),
        ),
      ms,
    );
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
