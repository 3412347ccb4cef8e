// Unit tests for the durable engine's small parts: the controllable clock, the timer service, the
// concurrency limiter, retry delays, history bookkeeping and activity result encoding.
import { ControllableClock } from '../../host/src/clock';
import { retryDelayMs } from '../../host/src/durable/decisions';
import { typedToJson } from '../../host/src/durable/engine';
import {
  HistoryEventType,
  completionKey,
  historyEvent,
  outstandingWork,
} from '../../host/src/durable/history';
import { Limiter } from '../../host/src/durable/limiter';
import { TimerService, type ArmedTimer } from '../../host/src/durable/timerService';

const T0 = Date.parse('2026-03-01T00:00:00Z');

describe('ControllableClock', () => {
  it('adds the offset to real time and only moves forward', () => {
    let real = T0;
    const clock = new ControllableClock(1000, () => real);
    expect(clock.now()).toBe(T0 + 1000);
    clock.advance(5000);
    real += 10;
    expect(clock.now()).toBe(T0 + 6010);
    expect(clock.offsetMs).toBe(6000);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });

  it('wakes a sleeper at once when advanced past its time', async () => {
    const clock = new ControllableClock(0, () => T0);
    let woke = false;
    const sleeping = clock.sleepUntil(T0 + 14 * 86_400_000).then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(false);
    clock.advance(14 * 86_400_000);
    await sleeping;
    expect(woke).toBe(true);
  });

  it('rejects a sleep that is aborted', async () => {
    const clock = new ControllableClock(0, () => T0);
    const abort = new AbortController();
    const sleeping = clock.sleepUntil(T0 + 60_000, abort.signal);
    abort.abort();
    await expect(sleeping).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('TimerService', () => {
  it('fires armed timers in time order when the clock passes them, once each', async () => {
    const clock = new ControllableClock(0, () => T0);
    const fired: number[] = [];
    const service = new TimerService(clock, (t: ArmedTimer) => fired.push(t.timerId));
    service.start();
    const timer = (id: number, atMs: number): ArmedTimer => ({
      instanceId: 'i',
      executionId: 'e',
      timerId: id,
      fireAtMs: atMs,
    });
    service.arm(timer(2, T0 + 2 * 86_400_000));
    service.arm(timer(1, T0 + 86_400_000));
    service.arm(timer(1, T0 + 86_400_000)); // a duplicate arm (recovery) is ignored
    service.arm(timer(3, T0 + 30 * 86_400_000));
    clock.advance(3 * 86_400_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(fired).toEqual([1, 2]);
    expect(service.pending).toBe(1);
    await service.stop();
  });

  it('notices a timer armed earlier than the one it sleeps on', async () => {
    let real = Date.now();
    const clock = new ControllableClock(0, () => real);
    const fired: number[] = [];
    const service = new TimerService(clock, (t) => fired.push(t.timerId));
    service.start();
    service.arm({ instanceId: 'i', executionId: 'e', timerId: 9, fireAtMs: real + 3_600_000 });
    await new Promise((r) => setTimeout(r, 10));
    service.arm({ instanceId: 'i', executionId: 'e', timerId: 1, fireAtMs: real + 30 });
    await new Promise((r) => setTimeout(r, 100));
    real = Date.now();
    await new Promise((r) => setTimeout(r, 1100));
    expect(fired).toEqual([1]);
    await service.stop();
  });
});

describe('Limiter', () => {
  it('never runs more than its limit at once, and reports idle', async () => {
    const limiter = new Limiter(3);
    let running = 0;
    let peak = 0;
    const work = Array.from({ length: 12 }, (_, i) =>
      limiter.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5 + (i % 3)));
        running--;
        return i;
      }),
    );
    expect(await Promise.all(work)).toEqual([...Array(12).keys()]);
    expect(peak).toBe(3);
    await limiter.idle();
    expect(limiter.busy).toBe(0);
  });
});

describe('retry delays', () => {
  const options = {
    firstRetryIntervalInMilliseconds: 1000,
    maxNumberOfAttempts: 5,
    backoffCoefficient: 2,
    maxRetryIntervalInMilliseconds: 5000,
  };
  it('grow by the coefficient from the first interval, capped, and are zero after the last attempt', () => {
    expect([2, 3, 4, 5, 6].map((attempt) => retryDelayMs(options, attempt))).toEqual([
      1000, 2000, 4000, 5000, 0,
    ]);
    expect(retryDelayMs({ firstRetryIntervalInMilliseconds: 250, maxNumberOfAttempts: 3 }, 3)).toBe(250);
  });
});

describe('history bookkeeping', () => {
  it('lists scheduled work with no completion as outstanding (what recovery re-runs)', () => {
    const h = [
      historyEvent(HistoryEventType.OrchestratorStarted, T0),
      historyEvent(HistoryEventType.ExecutionStarted, T0, { Name: 'o' }),
      historyEvent(HistoryEventType.TaskScheduled, T0, { Name: 'a', Input: '1' }, 0),
      historyEvent(HistoryEventType.TaskScheduled, T0, { Name: 'b', Input: '2' }, 1),
      historyEvent(HistoryEventType.TimerCreated, T0, { FireAt: '2026-03-02T00:00:00.000Z' }, 2),
      historyEvent(HistoryEventType.SubOrchestrationInstanceCreated, T0, { Name: 'c', InstanceId: 'x:3' }, 3),
      historyEvent(HistoryEventType.TaskCompleted, T0, { TaskScheduledId: 0, Result: '1' }),
      historyEvent(HistoryEventType.TimerFired, T0, { TimerId: 2 }),
    ];
    const work = outstandingWork(h);
    expect(work.activities.map((a) => [a.id, a.name, a.input])).toEqual([[1, 'b', '2']]);
    expect(work.timers).toEqual([]);
    expect(work.subOrchestrations.map((s) => s.instanceId)).toEqual(['x:3']);
  });

  it('keys completions by task or timer id, and raised events by message id', () => {
    expect(completionKey(historyEvent(HistoryEventType.TaskFailed, T0, { TaskScheduledId: 4 }))).toBe(
      'task:4',
    );
    expect(
      completionKey(
        historyEvent(HistoryEventType.SubOrchestrationInstanceCompleted, T0, { TaskScheduledId: 4 }),
      ),
    ).toBe('task:4');
    expect(completionKey(historyEvent(HistoryEventType.TimerFired, T0, { TimerId: 7 }))).toBe('timer:7');
    expect(
      completionKey(historyEvent(HistoryEventType.EventRaised, T0, { Name: 'go', MessageId: 'm1' })),
    ).toBe('msg:m1');
    expect(completionKey(historyEvent(HistoryEventType.EventRaised, T0, { Name: 'go' }))).toBeUndefined();
  });
});

describe('activity results as TaskCompleted JSON', () => {
  it('encodes each RPC type the way the orchestrator will JSON.parse it', () => {
    expect(typedToJson({ string: 'Hi' })).toBe('"Hi"');
    expect(typedToJson({ json: '{"a":1}' })).toBe('{"a":1}');
    expect(typedToJson({ int: 42 })).toBe('42');
    expect(typedToJson({ double: 1.5 })).toBe('1.5');
    expect(typedToJson({ bytes: Buffer.from('ab') })).toBe('"YWI="');
    expect(typedToJson(undefined)).toBe('null');
    expect(JSON.parse(typedToJson({ string: 'quote " and \\ slash' }))).toBe('quote " and \\ slash');
  });
});
