// Port: one storage queue, as the trigger and the output binding use it. Times are in ms here; the
// adapter converts to the service's seconds.
export interface ReceivedMessage {
  readonly id: string;
  readonly popReceipt: string;
  readonly dequeueCount: number;
  /** The message text as stored (still encoded). */
  readonly rawText: string;
  readonly insertedOn: Date;
  readonly expiresOn: Date;
  readonly nextVisibleOn: Date;
}

export interface MessageQueue {
  readonly name: string;
  ensureExists(): Promise<void>;
  receive(maxMessages: number, visibilityTimeoutMs: number, signal?: AbortSignal): Promise<ReceivedMessage[]>;
  send(rawText: string): Promise<void>;
  delete(id: string, popReceipt: string): Promise<void>;
  /** Returns the new pop receipt. */
  updateVisibility(id: string, popReceipt: string, visibilityTimeoutMs: number): Promise<string>;
}

/** Opens queues by connection setting name (e.g. "AzureWebJobsStorage") and queue name. */
export interface QueueProvider {
  queue(connectionName: string, queueName: string): MessageQueue;
}
