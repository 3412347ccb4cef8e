// Small helpers for the host integration tests: queue messages in and out of Azurite (base64,
// the host's default encoding) and polling until something happens.
import { QueueServiceClient } from '@azure/storage-queue';
import * as path from 'node:path';

export const BASIC_APP = path.resolve(__dirname, '..', '..', 'fixtures', 'basic-app');

/** Environment that disables the fixture's timers, for tests that do not want their noise. */
export const TIMERS_OFF: Record<string, string> = {
  'AzureWebJobs.everyTwoSeconds.Disabled': 'true',
  'AzureWebJobs.daily.Disabled': 'true',
};

export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export class TestQueues {
  private readonly service: QueueServiceClient;

  constructor(connectionString: string) {
    this.service = QueueServiceClient.fromConnectionString(connectionString);
  }

  async send(queueName: string, text: string): Promise<void> {
    const q = this.service.getQueueClient(queueName);
    await q.createIfNotExists();
    await q.sendMessage(Buffer.from(text, 'utf8').toString('base64'));
  }

  /** Receives and deletes what is visible now; returns the decoded texts. */
  async take(queueName: string): Promise<string[]> {
    const q = this.service.getQueueClient(queueName);
    if (!(await q.exists())) return [];
    const res = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 30 });
    const out: string[] = [];
    for (const m of res.receivedMessageItems) {
      out.push(Buffer.from(m.messageText, 'base64').toString('utf8'));
      await q.deleteMessage(m.messageId, m.popReceipt);
    }
    return out;
  }

  /** Takes messages until at least `count` arrived; returns all taken so far. */
  async takeAtLeast(queueName: string, count: number, timeoutMs = 15_000): Promise<string[]> {
    const got: string[] = [];
    return waitFor(
      async () => {
        got.push(...(await this.take(queueName)));
        return got.length >= count ? got : undefined;
      },
      `${count} message(s) on '${queueName}'`,
      timeoutMs,
    );
  }

  async approximateCount(queueName: string): Promise<number> {
    const q = this.service.getQueueClient(queueName);
    if (!(await q.exists())) return 0;
    return (await q.getProperties()).approximateMessagesCount ?? 0;
  }
}
