// The subset of the @azure/functions-core contract that the host implements. The real shapes live in
// the Node worker's `types-core`; the library only relies on these members (see shared notes §1.1).

export interface RpcHttpData {
  method?: string | null;
  url?: string | null;
  headers?: Record<string, string> | null;
  params?: Record<string, string> | null;
  query?: Record<string, string> | null;
  body?: RpcTypedData | null;
  statusCode?: string | null;
  cookies?: RpcHttpCookie[] | null;
  enableContentNegotiation?: boolean | null;
  [key: string]: unknown;
}

export interface RpcHttpCookie {
  name?: string | null;
  value?: string | null;
  domain?: { value?: string | null } | null;
  path?: { value?: string | null } | null;
  expires?: { value?: { seconds?: number | Long | null; nanos?: number | null } | null } | null;
  secure?: { value?: boolean | null } | null;
  httpOnly?: { value?: boolean | null } | null;
  sameSite?: string | number | null;
  maxAge?: { value?: number | Long | null } | null;
}

type Long = { toNumber(): number };

export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  stream?: Uint8Array | null;
  http?: RpcHttpData | null;
  int?: number | null;
  double?: number | null;
  [key: string]: unknown;
}

export interface RpcParameterBinding {
  name?: string | null;
  data?: RpcTypedData | null;
}

export interface RpcBindingInfo {
  type?: string | null;
  direction?: 'in' | 'out' | 'inout' | null;
  dataType?: string | null;
  properties?: Record<string, string> | null;
  [key: string]: unknown;
}

export interface RpcRetryOptions {
  maxRetryCount?: number | null;
  delayInterval?: unknown;
  minimumInterval?: unknown;
  maximumInterval?: unknown;
  retryStrategy?: string | null;
}

export interface FunctionMetadata {
  name: string;
  bindings: Record<string, RpcBindingInfo>;
  retryOptions?: RpcRetryOptions;
}

export type FunctionCallback = (...args: unknown[]) => unknown;

export type RpcLogLevel = 'information' | 'debug' | 'error' | 'trace' | 'warning' | 'critical' | 'none';
export type RpcLogCategory = 'user' | 'system' | 'customMetric';

export interface RpcInvocationResponse {
  invocationId?: string | null;
  outputData?: RpcParameterBinding[] | null;
  returnValue?: RpcTypedData | null;
  result?: unknown;
}

export interface CoreInvocationContext {
  invocationId: string;
  request: {
    inputData?: RpcParameterBinding[] | null;
    triggerMetadata?: Record<string, RpcTypedData> | null;
    retryContext?: unknown;
    traceContext?: unknown;
  };
  metadata: { name: string; bindings: Record<string, RpcBindingInfo> };
  state?: 'preInvocationHooks' | 'postInvocationHooks' | 'invocation';
  log(level: RpcLogLevel, category: RpcLogCategory, msg: string): void;
}

export interface InvocationArguments {
  context: unknown;
  inputs: unknown[];
}

export interface InvocationModel {
  getArguments(): Promise<InvocationArguments>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<RpcInvocationResponse>;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: CoreInvocationContext): InvocationModel;
  getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

export type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation' | 'log';
export type HookCallback = (context: Record<string, unknown>) => unknown;

export interface Disposable {
  dispose(): void;
}
