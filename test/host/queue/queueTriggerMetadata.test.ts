import { dotnetDateTime, queueTriggerMetadata } from '../../../host/src/queue/queueTriggerMetadata';
import { normalizeQueueName, poisonQueueName } from '../../../host/src/queue/queueName';
import { thrown } from '../thrown';

const message = {
  id: 'id-1',
  popReceipt: 'pop-1',
  dequeueCount: 3,
  rawText: 'ignored',
  insertedOn: new Date('2022-08-25T05:06:39.000Z'),
  expiresOn: new Date('2022-09-01T05:06:39.000Z'),
  nextVisibleOn: new Date('2022-08-25T05:16:39.000Z'),
};

describe('queueTriggerMetadata', () => {
  test('the Functions host shapes (shared notes §1.3)', () => {
    expect(queueTriggerMetadata(message, 'plain text')).toEqual({
      QueueTrigger: { string: 'plain text' },
      DequeueCount: { json: '3' },
      Id: { string: 'id-1' },
      PopReceipt: { string: 'pop-1' },
      InsertionTime: { json: '"2022-08-25T05:06:39+00:00"' },
      ExpirationTime: { json: '"2022-09-01T05:06:39+00:00"' },
      NextVisibleTime: { json: '"2022-08-25T05:16:39+00:00"' },
    });
  });

  test('top-level properties of a JSON object message are added; built-ins win', () => {
    const meta = queueTriggerMetadata(message, '{"name":"world","n":2,"nested":{"a":1},"Id":"spoof"}');
    expect(meta.name).toEqual({ string: 'world' });
    expect(meta.n).toEqual({ json: '2' });
    expect(meta.nested).toEqual({ json: '{"a":1}' });
    expect(meta.Id).toEqual({ string: 'id-1' });
  });

  test('arrays and invalid JSON add nothing', () => {
    expect(Object.keys(queueTriggerMetadata(message, '[1,2]'))).toHaveLength(7);
    expect(Object.keys(queueTriggerMetadata(message, '{oops'))).toHaveLength(7);
  });

  test('dotnetDateTime', () => {
    expect(dotnetDateTime(new Date('2024-01-01T00:00:00.123Z'))).toBe('2024-01-01T00:00:00+00:00');
  });
});

describe('queue names', () => {
  test('lower-cased and validated; poison name', () => {
    expect(normalizeQueueName('Echo-In')).toBe('echo-in');
    expect(poisonQueueName('echo-in')).toBe('echo-in-poison');
    for (const bad of ['ab', '-ab', 'ab-', 'a--b', 'a_b', 'x'.repeat(64)]) {
      expect(thrown(() => normalizeQueueName(bad))).toMatchObject({ code: 'QUEUE.NAME_INVALID' });
    }
  });
});
