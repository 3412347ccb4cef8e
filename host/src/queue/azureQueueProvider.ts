// Adapter: storage queues through @azure/storage-queue. SDK errors become QueueErrors here.
import { QueueServiceClient, RestError, type QueueClient } from '@azure/storage-queue';
import { QueueError } from './queueErrors';
import type { MessageQueue, QueueProvider, ReceivedMessage } from './messageQueue';

/** Azure: a message's visibility timeout is at most 7 days. */
const MAX_VISIBILITY_SECONDS = 7 * 24 * 3600;

export class AzureQueueProvider implements QueueProvider {
  private readonly services = new Map<string, QueueServiceClient>();
  private readonly queues = new Map<string, AzureMessageQueue>();

  /** @param connectionString resolves a connection setting name to a connection string (or throws). */
  constructor(private readonly connectionString: (connectionName: string) => string) {}

  queue(connectionName: string, queueName: string): MessageQueue {
    const conn = this.connectionString(connectionName);
    const key = `${conn}\n${queueName}`;
    let q = this.queues.get(key);
    if (!q) {
      let service = this.services.get(conn);
      if (!service) {
        service = QueueServiceClient.fromConnectionString(conn);
        this.services.set(conn, service);
      }
      q = new AzureMessageQueue(service.getQueueClient(queueName));
      this.queues.set(key, q);
    }
    return q;
  }
}

class AzureMessageQueue implements MessageQueue {
  private ensured: Promise<void> | undefined;

  constructor(private readonly client: QueueClient) {}

  get name(): string {
    return this.client.name;
  }

  ensureExists(): Promise<void> {
    // Once per process; a failed attempt is forgotten so the next caller retries.
    this.ensured ??= this.client.createIfNotExists().then(
      () => undefined,
      (err: unknown) => {
        this.ensured = undefined;
        throw translate(err, `create queue '${this.name}'`);
      },
    );
    return this.ensured;
  }

  async receive(
    maxMessages: number,
    visibilityTimeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ReceivedMessage[]> {
    try {
      const res = await this.client.receiveMessages({
        numberOfMessages: maxMessages,
        visibilityTimeout: clampSeconds(Math.ceil(visibilityTimeoutMs / 1000), 1),
        ...(signal ? { abortSignal: signal } : {}),
      });
      return res.receivedMessageItems.map((m) => ({
        id: m.messageId,
        popReceipt: m.popReceipt,
        dequeueCount: m.dequeueCount,
        rawText: m.messageText,
        insertedOn: m.insertedOn,
        expiresOn: m.expiresOn,
        nextVisibleOn: m.nextVisibleOn,
      }));
    } catch (err) {
      throw translate(err, `receive from '${this.name}'`);
    }
  }

  async send(rawText: string): Promise<void> {
    try {
      await this.client.sendMessage(rawText);
    } catch (err) {
      throw translate(err, `send to '${this.name}'`);
    }
  }

  async delete(id: string, popReceipt: string): Promise<void> {
    try {
      await this.client.deleteMessage(id, popReceipt);
    } catch (err) {
      throw translate(err, `delete message ${id} from '${this.name}'`);
    }
  }

  async updateVisibility(id: string, popReceipt: string, visibilityTimeoutMs: number): Promise<string> {
    try {
      const res = await this.client.updateMessage(
        id,
        popReceipt,
        undefined,
        clampSeconds(Math.round(visibilityTimeoutMs / 1000), 0),
      );
      return res.popReceipt ?? popReceipt;
    } catch (err) {
      throw translate(err, `update message ${id} in '${this.name}'`);
    }
  }
}

function clampSeconds(seconds: number, min: number): number {
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(min, seconds));
}

function translate(err: unknown, what: string): Error {
  if (err instanceof Error && err.name === 'AbortError') return err;
  if (err instanceof RestError) {
    if (err.statusCode === 404 && err.code === 'QueueNotFound') {
      return new QueueError('QUEUE.NOT_FOUND', `Could not ${what}: the queue does not exist`);
    }
    if (err.statusCode === 404) {
      // MessageNotFound or a stale pop receipt: someone else owns (or deleted) the message now.
      return new QueueError('QUEUE.MESSAGE_NOT_FOUND', `Could not ${what}: the message is gone`);
    }
    if (err.statusCode === 413 || err.code === 'RequestBodyTooLarge') {
      return new QueueError(
        'QUEUE.MESSAGE_TOO_LARGE',
        `Could not ${what}: the message is larger than 64 KiB`,
      );
    }
    return new QueueError('QUEUE.STORAGE_ERROR', `Could not ${what}: ${err.statusCode ?? ''} ${err.message}`);
  }
  return new QueueError(
    'QUEUE.STORAGE_ERROR',
    `Could not ${what}: ${err instanceof Error ? err.message : String(err)}`,
  );
}
