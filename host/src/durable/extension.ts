// The seam between the host and its Durable Functions engine. The host calls these; the engine
// lives in host/src/durable/ and owns everything behind them.
import type * as http from 'node:http';
import type { RpcTypedData } from '../core/types';

export interface DurableExtension {
  /** Start dispatching orchestrations, activities, entities and timers (resumes in-flight work). */
  start(): Promise<void>;
  /** Stop dispatching and wait for in-flight invocations to settle. */
  stop(): Promise<void>;
  /**
   * Handles `/runtime/webhooks/durabletask/...` and `/durabletask/...`. Returns false if the path is
   * not the engine's, so the host can try its other routes.
   */
  handleHttp(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<boolean>;
  /** The data for a `durableClient` input binding, given the origin the request came in on. */
  clientBindingData(origin: string): RpcTypedData;
}
