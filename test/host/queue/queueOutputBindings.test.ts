import type { InvocationOutcome } from '../../../host/src/core/invoker';
import type { RegisteredFunction } from '../../../host/src/core/registry';
import { MemoryQueueProvider } from '../../../host/src/queue/memoryQueueProvider';
import { messagesFromTypedData, QueueOutputWriter } from '../../../host/src/queue/queueOutputBindings';
import { thrown } from '../thrown';

describe('messagesFromTypedData', () => {
  test.each([
    [undefined, []],
    [{ string: 'hi' }, ['hi']],
    [{ string: '["not","split"]' }, ['["not","split"]']],
    [{ json: '{"a":1}' }, ['{"a":1}']],
    [{ json: '[{"a":1},"two",3,null]' }, ['{"a":1}', 'two', '3', 'null']],
    [{ json: '[]' }, []],
    [{ json: 'null' }, []],
    [{ json: '"text"' }, ['text']],
    [{ int: 42 }, ['42']],
    [{ double: 1.5 }, ['1.5']],
  ])('%p → %p', (data, expected) => {
    expect(messagesFromTypedData(data)).toEqual(expected);
  });

  test('bytes stay bytes', () => {
    expect(messagesFromTypedData({ bytes: new Uint8Array([1, 2]) })).toEqual([Buffer.from([1, 2])]);
  });
});

describe('QueueOutputWriter', () => {
  const fn: RegisteredFunction = {
    name: 'f',
    bindings: {
      trigger: { type: 'queueTrigger', direction: 'in', queueName: 'in' },
      out1: { type: 'queue', direction: 'out', queueName: '%OUT_QUEUE%' },
      $return: { type: 'queue', direction: 'out', queueName: 'Returned', connection: 'Other' },
    },
    triggerName: 'trigger',
    trigger: { type: 'queueTrigger', direction: 'in', queueName: 'in' },
    handler: () => undefined,
    retryOptions: undefined,
  };
  const settings: Record<string, string> = { OUT_QUEUE: 'out-one' };
  const resolve = (v: string): string => v.replace(/%([^%]+)%/g, (_, n: string) => settings[n] ?? '');

  test('named outputs and $return go to their queues, encoded, one message per array element', async () => {
    const queues = new MemoryQueueProvider();
    const writer = new QueueOutputWriter(queues, 'base64', resolve);
    const outcome: InvocationOutcome = {
      invocationId: 'i',
      ok: true,
      returnValue: { json: '{"r":1}' },
      outputData: [{ name: 'out1', data: { json: '["a",{"b":2}]' } }],
      durationMs: 1,
    };
    expect(await writer.write(fn, outcome)).toBe(3);
    const decode = (raw: string): string => Buffer.from(raw, 'base64').toString('utf8');
    expect(queues.queue('AzureWebJobsStorage', 'out-one').peekAll().map(decode)).toEqual(['a', '{"b":2}']);
    expect(queues.queue('Other', 'returned').peekAll().map(decode)).toEqual(['{"r":1}']);
  });

  test('unset outputs send nothing', async () => {
    const queues = new MemoryQueueProvider();
    const writer = new QueueOutputWriter(queues, 'none', resolve);
    const outcome: InvocationOutcome = {
      invocationId: 'i',
      ok: true,
      returnValue: undefined,
      outputData: [],
      durationMs: 1,
    };
    expect(await writer.write(fn, outcome)).toBe(0);
  });

  test('a bad queue name is reported with the binding name', () => {
    const bad = {
      ...fn,
      bindings: { ...fn.bindings, out1: { type: 'queue', direction: 'out' as const, queueName: 'a' } },
    };
    expect(
      thrown(() => new QueueOutputWriter(new MemoryQueueProvider(), 'none', resolve).targets(bad)),
    ).toMatchObject({ code: 'QUEUE.NAME_INVALID' });
  });
});
