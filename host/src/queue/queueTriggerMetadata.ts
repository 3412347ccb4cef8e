// Trigger metadata for a queue-triggered invocation, in the Functions host's shapes (the library
// camel-cases the keys: context.triggerMetadata.dequeueCount, .id, .insertionTime, …).
import type { RpcTypedData } from '../core/types';
import type { ReceivedMessage } from './messageQueue';

/** .NET DateTimeOffset as System.Text.Json writes it: "2022-08-25T05:06:39+00:00". */
export function dotnetDateTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

export function queueTriggerMetadata(message: ReceivedMessage, text: string): Record<string, RpcTypedData> {
  const metadata: Record<string, RpcTypedData> = {};
  // The host adds each top-level property of a JSON object message as binding data; the built-in
  // names below take precedence, so add those last.
  const parsed = tryParseObject(text);
  if (parsed) {
    for (const [k, v] of Object.entries(parsed)) {
      metadata[k] = typeof v === 'string' ? { string: v } : { json: JSON.stringify(v) };
    }
  }
  Object.assign(metadata, {
    QueueTrigger: { string: text },
    DequeueCount: { json: String(message.dequeueCount) },
    Id: { string: message.id },
    PopReceipt: { string: message.popReceipt },
    InsertionTime: { json: JSON.stringify(dotnetDateTime(message.insertedOn)) },
    ExpirationTime: { json: JSON.stringify(dotnetDateTime(message.expiresOn)) },
    NextVisibleTime: { json: JSON.stringify(dotnetDateTime(message.nextVisibleOn)) },
  } satisfies Record<string, RpcTypedData>);
  return metadata;
}

function tryParseObject(text: string): Record<string, unknown> | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
