import type { InvocationRequest } from '../../../host/src/core/invoker';
import type { RegisteredFunction } from '../../../host/src/core/registry';
import { createLogger } from '../../../host/src/logger';
import { encodeQueueMessage } from '../../../host/src/queue/messageEncoding';
import { MemoryMessageQueue } from '../../../host/src/queue/memoryQueueProvider';
import { QueuePoller, type QueuePollerSettings } from '../../../host/src/queue/queuePoller';

const fn: RegisteredFunction = {
  name: 'worker',
  bindings: { msg: { type: 'queueTrigger', direction: 'in', queueName: 'work' } },
  triggerName: 'msg',
  trigger: { type: 'queueTrigger', direction: 'in', queueName: 'work' },
  handler: () => undefined,
  retryOptions: undefined,
};

const settings: QueuePollerSettings = {
  batchSize: 4,
  newBatchThreshold: 2,
  maxPollingIntervalMs: 200,
  visibilityTimeoutMs: 0,
  maxDequeueCount: 5,
  messageEncoding: 'base64',
};

interface Call {
  text: string;
  dequeueCount: number;
}

function setup(invoke: (call: Call) => Promise<boolean>, overrides: Partial<QueuePollerSettings> = {}) {
  const queue = new MemoryMessageQueue('work');
  const poison = new MemoryMessageQueue('work-poison');
  const calls: Call[] = [];
  const warnings: string[] = [];
  const logger = { ...createLogger('error'), warn: (m: string) => warnings.push(m) };
  const poller = new QueuePoller({
    fn,
    queue,
    poisonQueue: poison,
    settings: { ...settings, ...overrides },
    logger,
    invoke: async (request: InvocationRequest) => {
      const call = {
        text: String(request.inputData[0]?.data?.string),
        dequeueCount: Number(request.triggerMetadata?.DequeueCount?.json),
      };
      calls.push(call);
      return { ok: await invoke(call) };
    },
  });
  return { queue, poison, calls, warnings, poller };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('QueuePoller', () => {
  test('creates the queue, decodes base64, invokes once and deletes on success', async () => {
    const { queue, calls, poller } = setup(() => Promise.resolve(true));
    await poller.start();
    expect(queue.exists).toBe(true);
    await queue.send(encodeQueueMessage('{"hello":"wörld"}', 'base64'));
    await waitFor(() => queue.peekAll().length === 0, 'the message to be deleted');
    expect(calls).toEqual([{ text: '{"hello":"wörld"}', dequeueCount: 1 }]);
    await poller.stop();
  });

  test('a message that always fails is tried exactly maxDequeueCount times, then moved to the poison queue', async () => {
    const { queue, poison, calls, warnings, poller } = setup(() => Promise.resolve(false));
    await poller.start();
    const raw = encodeQueueMessage('doomed', 'base64');
    await queue.send(raw);
    await waitFor(() => poison.peekAll().length === 1, 'the poison message');
    expect(calls.map((c) => c.dequeueCount)).toEqual([1, 2, 3, 4, 5]);
    expect(poison.peekAll()).toEqual([raw]);
    expect(queue.peekAll()).toEqual([]);
    expect(warnings.join('\n')).toMatch(/MaxDequeueCount of 5\. Moving message to queue 'work-poison'/);
    await poller.stop();
  });

  test('maxDequeueCount 1 poisons at the first failure', async () => {
    const { queue, poison, calls, poller } = setup(() => Promise.resolve(false), { maxDequeueCount: 1 });
    await poller.start();
    await queue.send(encodeQueueMessage('x', 'base64'));
    await waitFor(() => poison.peekAll().length === 1, 'the poison message');
    expect(calls).toHaveLength(1);
    await poller.stop();
  });

  test('a message that is not base64 goes straight to poison without an invocation', async () => {
    const { queue, poison, calls, poller } = setup(() => Promise.resolve(true));
    await poller.start();
    await queue.send('not base64!');
    await waitFor(() => poison.peekAll().length === 1, 'the poison message');
    expect(calls).toHaveLength(0);
    expect(poison.peekAll()).toEqual(['not base64!']);
    await poller.stop();
  });

  test('messages run concurrently, bounded by batchSize + newBatchThreshold, and all complete', async () => {
    let running = 0;
    let maxRunning = 0;
    const { queue, calls, poller } = setup(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
      return true;
    });
    await queue.ensureExists();
    for (let i = 0; i < 12; i++) await queue.send(encodeQueueMessage(`m${i}`, 'base64'));
    await poller.start();
    await waitFor(() => queue.peekAll().length === 0, 'all messages');
    expect(calls.map((c) => c.text).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `m${i}`).sort());
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(settings.batchSize + settings.newBatchThreshold);
    await poller.stop();
  });

  test('stop() waits for messages in flight', async () => {
    let started = false;
    let finished = false;
    const { queue, poller } = setup(async () => {
      started = true;
      await new Promise((r) => setTimeout(r, 100));
      finished = true;
      return true;
    });
    await poller.start();
    await queue.send(encodeQueueMessage('slow', 'base64'));
    await waitFor(() => started, 'the invocation to start');
    await poller.stop();
    expect(finished).toBe(true);
    expect(queue.peekAll()).toEqual([]);
  });
});
