import { startAzurite, type AzuriteInstance } from '../../../host/src/azurite/azuriteProcess';
import { startHostProcess, type HostProcess } from '../../support/hostProcess';
import { BASIC_APP, TestQueues, TIMERS_OFF } from './storageHelpers';

let azurite: AzuriteInstance;
let host: HostProcess;
let queues: TestQueues;

beforeAll(async () => {
  azurite = await startAzurite();
  queues = new TestQueues(azurite.connectionString);
  host = await startHostProcess({
    appDir: BASIC_APP,
    connectionString: azurite.connectionString,
    env: TIMERS_OFF,
  });
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

describe('queue triggers', () => {
  test('echo: a JSON message round-trips; metadata reaches the function; an array output is one message per element', async () => {
    await queues.send('echo-in', JSON.stringify({ kind: 'greeting', text: 'hi' }));
    const out = await queues.takeAtLeast('echo-out', 2);
    expect(out).toHaveLength(2);
    const first = JSON.parse(out[0] ?? '') as Record<string, unknown>;
    expect(first).toMatchObject({
      echoed: { kind: 'greeting', text: 'hi' },
      dequeueCount: 1,
      kind: 'greeting',
    });
    expect(first.id).toEqual(expect.any(String));
    expect(first.insertionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(out[1]).toBe('second');
  });

  test('a $return queue binding sends the return value', async () => {
    await queues.send('return-in', 'ping');
    expect(await queues.takeAtLeast('return-out', 1)).toEqual(['{"returned":"ping"}']);
  });

  test('an HTTP function with a queue output feeds the echo trigger', async () => {
    const res = await fetch(`${host.baseUrl}/api/enqueue`, { method: 'POST', body: 'via-http' });
    expect(res.status).toBe(202);
    const out = await queues.takeAtLeast('echo-out', 2);
    expect(JSON.parse(out[0] ?? '')).toMatchObject({ echoed: 'via-http', dequeueCount: 1 });
  });

  test('a message that always throws lands in <queue>-poison after exactly 5 dequeues', async () => {
    await queues.send('always-fails', 'doomed');
    const poisoned = await queues.takeAtLeast('always-fails-poison', 1, 30_000);
    expect(poisoned).toEqual(['doomed']);
    // Give a sixth attempt (which must not happen) the chance to show up.
    await new Promise((r) => setTimeout(r, 1500));
    const attempts = [...host.logs().matchAll(/alwaysFails attempt dequeueCount=(\d+)/g)].map((m) =>
      Number(m[1]),
    );
    expect(attempts).toEqual([1, 2, 3, 4, 5]);
    expect(await queues.approximateCount('always-fails')).toBe(0);
    expect(host.logs()).toMatch(
      /Message has reached MaxDequeueCount of 5\. Moving message to queue 'always-fails-poison'/,
    );
  });

  test('the host stops cleanly with pollers running', async () => {
    // Queues are idle with backoff; a SIGTERM must still exit 0 promptly.
    const code = await host.kill('SIGTERM');
    expect(code).toBe(0);
    expect(host.logs()).toContain('SIGTERM, stopping');
  });
});
