// Polls one storage queue for one queue-triggered function, as the Functions host's QueueListener:
// batches of up to `batchSize`, a new batch once no more than `newBatchThreshold` messages are in
// flight, exponential backoff while the queue is empty, and poison handling after
// `maxDequeueCount` failed attempts (the message moves to `<queue>-poison`).
import { setTimeout as sleep } from 'node:timers/promises';
import type { InvocationRequest } from '../core/invoker';
import type { RegisteredFunction } from '../core/registry';
import type { Logger } from '../logger';
import { decodeQueueMessage, type MessageEncoding } from './messageEncoding';
import type { MessageQueue, ReceivedMessage } from './messageQueue';
import { QueueError } from './queueErrors';
import { queueTriggerMetadata } from './queueTriggerMetadata';

/** The first backoff step while the queue is empty (the real host starts at 100 ms too). */
export const MIN_POLLING_INTERVAL_MS = 100;
/**
 * How long a received message stays hidden while its function runs; renewed at half time, so a
 * long invocation is not handed to another poller (the real host uses 10 minutes as well).
 */
export const PROCESSING_VISIBILITY_MS = 10 * 60_000;

export interface QueuePollerSettings {
  readonly batchSize: number;
  readonly newBatchThreshold: number;
  readonly maxPollingIntervalMs: number;
  readonly visibilityTimeoutMs: number;
  readonly maxDequeueCount: number;
  readonly messageEncoding: MessageEncoding;
}

export interface QueuePollerOptions {
  readonly fn: RegisteredFunction;
  readonly queue: MessageQueue;
  readonly poisonQueue: MessageQueue;
  readonly settings: QueuePollerSettings;
  readonly logger: Logger;
  /** Runs the function and its output bindings; `ok` false means the message is retried. */
  readonly invoke: (request: InvocationRequest, reason: string) => Promise<{ ok: boolean }>;
  /** For tests: how long a received message stays hidden while processing. */
  readonly processingVisibilityMs?: number;
}

export class QueuePoller {
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: QueuePollerOptions) {}

  get queueName(): string {
    return this.options.queue.name;
  }

  /** Creates the queue if needed, then polls in the background. */
  async start(): Promise<void> {
    await this.options.queue.ensureExists();
    this.loop = this.run();
  }

  /** Stops polling and waits for the messages in flight to finish. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async run(): Promise<void> {
    const { queue, settings, logger } = this.options;
    const signal = this.abort.signal;
    let delay = MIN_POLLING_INTERVAL_MS;
    while (!signal.aborted) {
      if (this.inFlight.size > settings.newBatchThreshold) {
        await Promise.race([...this.inFlight]);
        continue;
      }
      let batch: ReceivedMessage[] = [];
      try {
        batch = await queue.receive(
          settings.batchSize,
          this.options.processingVisibilityMs ?? PROCESSING_VISIBILITY_MS,
          signal,
        );
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof QueueError && err.code === 'QUEUE.NOT_FOUND') {
          // Someone deleted the queue; recreate it, as the host does on its next poll.
          await queue.ensureExists().catch(() => undefined);
        } else {
          logger.warn(`Queue '${queue.name}': polling failed: ${errorText(err)}`);
        }
      }
      if (batch.length > 0) {
        delay = MIN_POLLING_INTERVAL_MS;
        for (const message of batch) this.track(this.process(message));
        continue;
      }
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        break;
      }
      delay = Math.min(delay * 2, Math.max(settings.maxPollingIntervalMs, MIN_POLLING_INTERVAL_MS));
    }
  }

  private track(work: Promise<void>): void {
    const p = work.finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async process(message: ReceivedMessage): Promise<void> {
    const { fn, queue, settings, logger } = this.options;
    const lease = new MessageLease(
      queue,
      message,
      this.options.processingVisibilityMs ?? PROCESSING_VISIBILITY_MS,
    );
    try {
      const decoded = decodeQueueMessage(message.rawText, settings.messageEncoding);
      if (!decoded.ok) {
        // It can never succeed, so it goes straight to the poison queue.
        logger.error(`Queue '${queue.name}': message ${message.id} cannot be decoded: ${decoded.reason}`);
        await this.poison(lease, message);
        return;
      }
      const request: InvocationRequest = {
        inputData: [{ name: fn.triggerName, data: { string: decoded.text } }],
        triggerMetadata: queueTriggerMetadata(message, decoded.text),
      };
      const outcome = await this.options.invoke(request, `New queue message detected on '${queue.name}'.`);
      if (outcome.ok) {
        await lease.delete();
      } else if (message.dequeueCount >= settings.maxDequeueCount) {
        await this.poison(lease, message);
      } else {
        await lease.release(settings.visibilityTimeoutMs);
      }
    } catch (err) {
      // Storage trouble while settling: the message reappears after its visibility timeout.
      logger.warn(`Queue '${queue.name}': message ${message.id}: ${errorText(err)}`);
    } finally {
      lease.end();
    }
  }

  private async poison(lease: MessageLease, message: ReceivedMessage): Promise<void> {
    const { queue, poisonQueue, settings, logger, fn } = this.options;
    logger.warn(
      `Message has reached MaxDequeueCount of ${settings.maxDequeueCount}. Moving message to queue '${poisonQueue.name}'. ` +
        `(function '${fn.name}', queue '${queue.name}', message ${message.id}, dequeue count ${message.dequeueCount})`,
    );
    await poisonQueue.ensureExists();
    // Copy first, then delete: a crash in between leaves a duplicate, never a lost message.
    await poisonQueue.send(message.rawText);
    await lease.delete();
  }
}

/** Keeps a message hidden while its function runs, and settles it with the latest pop receipt. */
class MessageLease {
  private popReceipt: string;
  private renewing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly queue: MessageQueue,
    private readonly message: ReceivedMessage,
    visibilityMs: number,
  ) {
    this.popReceipt = message.popReceipt;
    this.timer = setInterval(() => {
      this.renewing = this.renewing
        .then(async () => {
          this.popReceipt = await queue.updateVisibility(message.id, this.popReceipt, visibilityMs);
        })
        .catch(() => undefined);
    }, visibilityMs / 2);
    this.timer.unref();
  }

  async delete(): Promise<void> {
    this.end();
    await this.renewing;
    await this.queue.delete(this.message.id, this.popReceipt);
  }

  async release(visibilityTimeoutMs: number): Promise<void> {
    this.end();
    await this.renewing;
    await this.queue.updateVisibility(this.message.id, this.popReceipt, visibilityTimeoutMs);
  }

  end(): void {
    clearInterval(this.timer);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
