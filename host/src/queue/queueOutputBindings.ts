// Queue output bindings: after a successful invocation, what the function set for a `queue` output
// (or returned, for a `$return` queue binding) becomes messages. A JSON array is one message per
// element, as in the Functions host; strings go as-is, other values as JSON.
import type { InvocationOutcome } from '../core/invoker';
import type { RegisteredFunction } from '../core/registry';
import type { RpcBindingInfo, RpcTypedData } from '../core/types';
import { encodeQueueMessage, type MessageEncoding } from './messageEncoding';
import type { QueueProvider } from './messageQueue';
import { QueueError } from './queueErrors';
import { normalizeQueueName } from './queueName';

export const RETURN_BINDING = '$return';
export const DEFAULT_CONNECTION = 'AzureWebJobsStorage';

export interface QueueBindingTarget {
  readonly bindingName: string;
  readonly queueName: string;
  readonly connection: string;
}

/** Reads `queueName` and `connection` from a queue trigger or output binding; `%NAME%` is resolved. */
export function queueBindingTarget(
  bindingName: string,
  binding: RpcBindingInfo,
  resolveSettings: (value: string) => string,
): QueueBindingTarget {
  const rawName = binding.queueName;
  if (typeof rawName !== 'string' || rawName.length === 0) {
    throw new QueueError('QUEUE.NAME_INVALID', `Binding '${bindingName}' has no queueName`);
  }
  const connection =
    typeof binding.connection === 'string' && binding.connection ? binding.connection : DEFAULT_CONNECTION;
  return { bindingName, queueName: normalizeQueueName(resolveSettings(rawName)), connection };
}

/** The messages an output value stands for. */
export function messagesFromTypedData(data: RpcTypedData | null | undefined): (string | Buffer)[] {
  if (!data) return [];
  if (typeof data.string === 'string') return [data.string];
  if (data.bytes) return [Buffer.from(data.bytes)];
  if (typeof data.int === 'number') return [String(data.int)];
  if (typeof data.double === 'number') return [String(data.double)];
  if (typeof data.json === 'string') {
    const value: unknown = JSON.parse(data.json);
    if (value === null || value === undefined) return [];
    const items = Array.isArray(value) ? (value as unknown[]) : [value];
    return items.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
  }
  return [];
}

export class QueueOutputWriter {
  constructor(
    private readonly queues: QueueProvider,
    private readonly encoding: MessageEncoding,
    private readonly resolveSettings: (value: string) => string,
  ) {}

  /** Queue outputs of a function; throws a QueueError naming the binding if one is misconfigured. */
  targets(fn: RegisteredFunction): QueueBindingTarget[] {
    return Object.entries(fn.bindings)
      .filter(([, b]) => b.direction === 'out' && String(b.type).toLowerCase() === 'queue')
      .map(([name, b]) => queueBindingTarget(name, b, this.resolveSettings));
  }

  /** Sends the messages an invocation produced; returns how many were sent. */
  async write(fn: RegisteredFunction, outcome: InvocationOutcome): Promise<number> {
    let sent = 0;
    for (const target of this.targets(fn)) {
      const data =
        target.bindingName === RETURN_BINDING
          ? outcome.returnValue
          : outcome.outputData.find((o) => o.name === target.bindingName)?.data;
      const messages = messagesFromTypedData(data);
      if (messages.length === 0) continue;
      const queue = this.queues.queue(target.connection, target.queueName);
      await queue.ensureExists();
      // In order, so a consumer sees the array's order (the real host sends them one by one too).
      for (const m of messages) {
        await queue.send(encodeQueueMessage(m, this.encoding));
        sent++;
      }
    }
    return sent;
  }
}
