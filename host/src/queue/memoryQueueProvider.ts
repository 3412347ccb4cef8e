// In-memory queues with the storage service's visibility and dequeue-count rules, for tests of the
// poller and the output binding without Azurite.
import { randomUUID } from 'node:crypto';
import type { MessageQueue, QueueProvider, ReceivedMessage } from './messageQueue';
import { QueueError } from './queueErrors';

interface StoredMessage {
  id: string;
  popReceipt: string;
  dequeueCount: number;
  rawText: string;
  insertedOn: number;
  visibleAt: number;
}

/** Azure: messages live 7 days unless told otherwise. */
const DEFAULT_TTL_MS = 7 * 24 * 3600_000;

export class MemoryMessageQueue implements MessageQueue {
  private readonly messages: StoredMessage[] = [];
  exists = false;

  constructor(
    readonly name: string,
    private readonly now: () => number = Date.now,
  ) {}

  ensureExists(): Promise<void> {
    this.exists = true;
    return Promise.resolve();
  }

  receive(maxMessages: number, visibilityTimeoutMs: number): Promise<ReceivedMessage[]> {
    if (!this.exists)
      return Promise.reject(new QueueError('QUEUE.NOT_FOUND', `Queue '${this.name}' does not exist`));
    const now = this.now();
    const out: ReceivedMessage[] = [];
    for (const m of this.messages) {
      if (out.length >= maxMessages) break;
      if (m.visibleAt > now) continue;
      m.dequeueCount++;
      m.popReceipt = randomUUID();
      m.visibleAt = now + visibilityTimeoutMs;
      out.push(this.view(m));
    }
    return Promise.resolve(out);
  }

  send(rawText: string): Promise<void> {
    if (!this.exists)
      return Promise.reject(new QueueError('QUEUE.NOT_FOUND', `Queue '${this.name}' does not exist`));
    const now = this.now();
    this.messages.push({
      id: randomUUID(),
      popReceipt: '',
      dequeueCount: 0,
      rawText,
      insertedOn: now,
      visibleAt: now,
    });
    return Promise.resolve();
  }

  delete(id: string, popReceipt: string): Promise<void> {
    const i = this.messages.findIndex((m) => m.id === id && m.popReceipt === popReceipt);
    if (i < 0) return Promise.reject(new QueueError('QUEUE.MESSAGE_NOT_FOUND', `Message ${id} is gone`));
    this.messages.splice(i, 1);
    return Promise.resolve();
  }

  updateVisibility(id: string, popReceipt: string, visibilityTimeoutMs: number): Promise<string> {
    const m = this.messages.find((x) => x.id === id && x.popReceipt === popReceipt);
    if (!m) return Promise.reject(new QueueError('QUEUE.MESSAGE_NOT_FOUND', `Message ${id} is gone`));
    m.popReceipt = randomUUID();
    m.visibleAt = this.now() + visibilityTimeoutMs;
    return Promise.resolve(m.popReceipt);
  }

  /** Test helper: the raw texts currently stored, visible or not. */
  peekAll(): string[] {
    return this.messages.map((m) => m.rawText);
  }

  private view(m: StoredMessage): ReceivedMessage {
    return {
      id: m.id,
      popReceipt: m.popReceipt,
      dequeueCount: m.dequeueCount,
      rawText: m.rawText,
      insertedOn: new Date(m.insertedOn),
      expiresOn: new Date(m.insertedOn + DEFAULT_TTL_MS),
      nextVisibleOn: new Date(m.visibleAt),
    };
  }
}

export class MemoryQueueProvider implements QueueProvider {
  private readonly queues = new Map<string, MemoryMessageQueue>();

  queue(connectionName: string, queueName: string): MemoryMessageQueue {
    const key = `${connectionName}\n${queueName}`;
    let q = this.queues.get(key);
    if (!q) {
      q = new MemoryMessageQueue(queueName);
      this.queues.set(key, q);
    }
    return q;
  }
}
