import { ControllableClock } from '../../../host/src/clock';
import type { InvocationRequest } from '../../../host/src/core/invoker';
import type { RegisteredFunction } from '../../../host/src/core/registry';
import { createLogger } from '../../../host/src/logger';
import { MemoryScheduleMonitor, NEVER } from '../../../host/src/timer/scheduleMonitor';
import { TimerTrigger } from '../../../host/src/timer/timerTrigger';
import { parseTimerSchedule } from '../../../host/src/timer/timerSchedule';

const DAY = 86_400_000;
const at = (iso: string): number => Date.parse(iso);

interface TimerInfo {
  Schedule: { AdjustForDST: boolean };
  ScheduleStatus: { Last: string; Next: string; LastUpdated: string } | null;
  IsPastDue: boolean;
}

const fn: RegisteredFunction = {
  name: 'daily',
  bindings: { timer: { type: 'timerTrigger', direction: 'in' } },
  triggerName: 'timer',
  trigger: { type: 'timerTrigger', direction: 'in' },
  handler: () => undefined,
  retryOptions: undefined,
};

/** A clock whose real time stands still, so only advance() moves it: deterministic timers. */
function frozenClock(iso: string): ControllableClock {
  const real = at(iso);
  return new ControllableClock(0, () => real);
}

function harness(options: {
  clock: ControllableClock;
  monitor?: MemoryScheduleMonitor;
  schedule?: string;
  runOnStartup?: boolean;
}) {
  const calls: TimerInfo[] = [];
  const trigger = new TimerTrigger({
    fn,
    schedule: parseTimerSchedule(options.schedule ?? '0 0 0 * * *'),
    runOnStartup: options.runOnStartup ?? false,
    monitor: options.monitor,
    clock: options.clock,
    logger: createLogger('error'),
    invoke: (request: InvocationRequest) => {
      const data = request.inputData[0]?.data;
      calls.push(JSON.parse(String(data?.json)) as TimerInfo);
      return Promise.resolve();
    },
  });
  return { trigger, calls };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets pending timers and promises run, then checks nothing more happened. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

describe('TimerTrigger', () => {
  test('first start writes the status; an on-time occurrence fires with IsPastDue=false', async () => {
    const clock = frozenClock('2024-01-01T10:00:00Z');
    const monitor = new MemoryScheduleMonitor();
    const { trigger, calls } = harness({ clock, monitor });
    await trigger.start();
    expect(await monitor.getStatus('daily')).toEqual({
      last: undefined,
      next: at('2024-01-02T00:00:00Z'),
      lastUpdated: at('2024-01-01T10:00:00Z'),
    });

    clock.advance(14 * 3600_000); // exactly midnight
    await waitFor(() => calls.length === 1, 'the midnight fire');
    expect(calls[0]).toEqual({
      Schedule: { AdjustForDST: true },
      ScheduleStatus: {
        Last: NEVER,
        Next: '2024-01-02T00:00:00.000Z',
        LastUpdated: '2024-01-01T10:00:00.000Z',
      },
      IsPastDue: false,
    });
    await waitFor(() => trigger.nextOccurrence === at('2024-01-03T00:00:00Z'), 'the next occurrence');
    expect(await monitor.getStatus('daily')).toMatchObject({
      last: at('2024-01-02T00:00:00Z'),
      next: at('2024-01-03T00:00:00Z'),
    });
    await trigger.stop();
  });

  test('advancing past several occurrences fires once, past due, and schedules from now', async () => {
    const clock = frozenClock('2024-01-01T10:00:00Z');
    const monitor = new MemoryScheduleMonitor();
    const { trigger, calls } = harness({ clock, monitor });
    await trigger.start();
    clock.advance(3 * DAY); // 2024-01-04T10:00Z: three midnights passed
    await waitFor(() => calls.length === 1, 'one past-due fire');
    await settle();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.IsPastDue).toBe(true);
    expect(trigger.nextOccurrence).toBe(at('2024-01-05T00:00:00Z'));
    await trigger.stop();
  });

  test('a restart after a missed occurrence fires it once; the next restart does not fire again', async () => {
    const monitor = new MemoryScheduleMonitor();
    const first = harness({ clock: frozenClock('2024-01-01T10:00:00Z'), monitor });
    await first.trigger.start();
    await first.trigger.stop();

    const second = harness({ clock: frozenClock('2024-01-02T08:00:00Z'), monitor });
    await second.trigger.start();
    await waitFor(() => second.calls.length === 1, 'the past-due fire at startup');
    expect(second.calls[0]).toMatchObject({
      IsPastDue: true,
      ScheduleStatus: { Next: '2024-01-02T00:00:00.000Z' },
    });
    await waitFor(() => second.trigger.nextOccurrence === at('2024-01-03T00:00:00Z'), 'the status update');
    await second.trigger.stop();

    const third = harness({ clock: frozenClock('2024-01-02T08:00:05Z'), monitor });
    await third.trigger.start();
    await settle();
    expect(third.calls).toHaveLength(0);
    await third.trigger.stop();
  });

  test('runOnStartup fires at start; unmonitored timers pass ScheduleStatus null', async () => {
    const { trigger, calls } = harness({ clock: frozenClock('2024-01-01T10:00:00Z'), runOnStartup: true });
    await trigger.start();
    await waitFor(() => calls.length === 1, 'the startup fire');
    expect(calls[0]).toEqual({ Schedule: { AdjustForDST: true }, ScheduleStatus: null, IsPastDue: false });
    await trigger.stop();
  });

  test('an interval schedule fires every interval', async () => {
    const clock = frozenClock('2024-01-01T10:00:00Z');
    const { trigger, calls } = harness({ clock, schedule: '00:10:00' });
    await trigger.start();
    expect(trigger.nextOccurrence).toBe(at('2024-01-01T10:10:00Z'));
    clock.advance(10 * 60_000);
    await waitFor(() => calls.length === 1, 'the first interval');
    await waitFor(() => trigger.nextOccurrence === at('2024-01-01T10:20:00Z'), 'the second interval');
    await trigger.stop();
  });

  test('stop() ends a sleeping timer promptly', async () => {
    const { trigger } = harness({ clock: frozenClock('2024-01-01T10:00:00Z') });
    await trigger.start();
    const started = Date.now();
    await trigger.stop();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
