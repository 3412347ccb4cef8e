// Contract tests for the durable-functions internals the engine reads (shared notes §2.4): feed
// recorded histories to the library's own orchestrator handler and assert exactly which task ids the
// engine schedules. A durable-functions upgrade that changes the numbering fails here first.
import * as df from 'durable-functions';
import { scheduleOpenTasks, type ExecutorLike } from '../../host/src/durable/decisions';
import { HistoryEventType, historyEvent, type HistoryEvent } from '../../host/src/durable/history';

// Internal class, pinned with durable-functions@3.5.0.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Orchestrator } = require('durable-functions/lib/src/orchestrations/Orchestrator') as {
  Orchestrator: new (fn: (ctx: unknown) => Generator<unknown, unknown, unknown>) => {
    handle(
      trigger: unknown,
      context: Record<string, unknown>,
    ): Promise<{ isDone: boolean; output?: unknown }>;
  };
};

type OrchestratorFn = (ctx: df.OrchestrationContext) => Generator<unknown, unknown, unknown>;

const T0 = Date.parse('2026-01-01T00:00:00Z');

/** The orchestration trigger payload, as the engine sends it (host/src/durable/engine.ts). */
function trigger(history: HistoryEvent[], input?: unknown): Record<string, unknown> {
  return {
    history: JSON.parse(JSON.stringify(history)) as unknown,
    input,
    instanceId: 'inst',
    isReplaying: false,
    upperSchemaVersion: 1,
    upperSchemaVersionNew: 2,
    maximumShortTimerDuration: '6.00:00:00',
    longRunningTimerIntervalDuration: '3.00:00:00',
    defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
  };
}

interface Episode {
  state: { isDone: boolean; output?: unknown } | undefined;
  error: string | undefined;
  scheduled: HistoryEvent[];
}

async function runEpisode(fn: OrchestratorFn, history: HistoryEvent[], input?: unknown): Promise<Episode> {
  const context: Record<string, unknown> = {};
  const orchestrator = new Orchestrator(
    fn as unknown as (ctx: unknown) => Generator<unknown, unknown, unknown>,
  );
  let state: Episode['state'];
  let error: string | undefined;
  try {
    state = await orchestrator.handle(trigger(history, input), context);
  } catch (err) {
    error = (err as Error).message;
  }
  const executor = (context.df as { taskOrchestratorExecutor: ExecutorLike }).taskOrchestratorExecutor;
  const scheduledIds = new Set(
    history
      .filter(
        (e) =>
          [
            HistoryEventType.TaskScheduled,
            HistoryEventType.TimerCreated,
            HistoryEventType.EventSent,
          ].includes(e.EventType) && e.Signal !== true,
      )
      .map((e) => e.EventId),
  );
  const signalsSent = history.filter((e) => e.Signal === true).length;
  const last = history.filter((e) => e.EventType === HistoryEventType.OrchestratorStarted).pop();
  const nowMs = last ? Date.parse(last.Timestamp) : T0;
  const scheduled = error
    ? []
    : scheduleOpenTasks(executor, { instanceId: 'inst', nowMs, scheduledIds, signalsSent });
  return { state, error, scheduled };
}

/** Builds histories episode by episode: each call appends OrchestratorStarted + events + what was scheduled. */
class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  private now = T0;
  constructor() {
    this.events.push(historyEvent(HistoryEventType.OrchestratorStarted, this.now));
    this.events.push(
      historyEvent(HistoryEventType.ExecutionStarted, this.now, { Name: 'orch', Input: 'null' }),
    );
  }
  commit(scheduled: HistoryEvent[]): void {
    this.events.push(...scheduled, historyEvent(HistoryEventType.OrchestratorCompleted, this.now));
  }
  next(advanceMs: number, ...events: HistoryEvent[]): void {
    this.now += advanceMs;
    this.events.push(historyEvent(HistoryEventType.OrchestratorStarted, this.now), ...events);
  }
  at(): number {
    return this.now;
  }
}

const ids = (events: HistoryEvent[]): [string, number][] =>
  events.map((e) => [HistoryEventType[e.EventType], e.EventId]);

describe('durable replay contract (durable-functions 3.5.0)', () => {
  it('chains activities with consecutive ids', async () => {
    const fn: OrchestratorFn = function* (ctx) {
      const a = (yield ctx.df.callActivity('hello', 'a')) as string;
      const b = (yield ctx.df.callActivity('hello', 'b')) as string;
      return [a, b];
    };
    const h = new HistoryBuilder();
    let ep = await runEpisode(fn, h.events);
    expect(ids(ep.scheduled)).toEqual([['TaskScheduled', 0]]);
    expect(ep.scheduled[0]?.Input).toBe('"a"');
    h.commit(ep.scheduled);
    h.next(10, historyEvent(HistoryEventType.TaskCompleted, h.at(), { TaskScheduledId: 0, Result: '"A"' }));
    ep = await runEpisode(fn, h.events);
    expect(ids(ep.scheduled)).toEqual([['TaskScheduled', 1]]);
    h.commit(ep.scheduled);
    h.next(10, historyEvent(HistoryEventType.TaskCompleted, h.at(), { TaskScheduledId: 1, Result: '"B"' }));
    ep = await runEpisode(fn, h.events);
    expect(ep.state).toMatchObject({ isDone: true, output: ['A', 'B'] });
    expect(ep.scheduled).toEqual([]);
  });

  it('numbers a fan-out 0..n-1 and completes on results in any order', async () => {
    const fn: OrchestratorFn = function* (ctx) {
      const tasks = [0, 1, 2, 3].map((i) => ctx.df.callActivity('double', i));
      const results = (yield ctx.df.Task.all(tasks)) as number[];
      return results.reduce((s, x) => s + x, 0);
    };
    const h = new HistoryBuilder();
    const ep = await runEpisode(fn, h.events);
    expect(ids(ep.scheduled)).toEqual([0, 1, 2, 3].map((i) => ['TaskScheduled', i]));
    h.commit(ep.scheduled);
    h.next(
      5,
      ...[3, 1, 0, 2].map((i) =>
        historyEvent(HistoryEventType.TaskCompleted, h.at(), { TaskScheduledId: i, Result: String(i * 2) }),
      ),
    );
    expect((await runEpisode(fn, h.events)).state).toMatchObject({ isDone: true, output: 12 });
  });

  it('schedules the hidden retry timers and re-runs of a retried activity, then fails after the last attempt', async () => {
    const fn: OrchestratorFn = function* (ctx) {
      return yield ctx.df.callActivityWithRetry('flaky', new df.RetryOptions(1000, 3), 'x');
    };
    const h = new HistoryBuilder();
    const expectScheduled: [string, number][] = [
      ['TaskScheduled', 0],
      ['TimerCreated', 1],
      ['TaskScheduled', 2],
      ['TimerCreated', 3],
      ['TaskScheduled', 4],
      ['TimerCreated', 5],
    ];
    let ep = await runEpisode(fn, h.events);
    for (let step = 0; step < expectScheduled.length; step++) {
      expect(ids(ep.scheduled)).toEqual([expectScheduled[step]]);
      const event = ep.scheduled[0] as HistoryEvent;
      h.commit(ep.scheduled);
      if (event.EventType === HistoryEventType.TaskScheduled) {
        expect(event.Name).toBe('flaky');
        h.next(
          10,
          historyEvent(HistoryEventType.TaskFailed, h.at() + 10, {
            TaskScheduledId: event.EventId,
            Reason: 'nope',
            Details: '',
          }),
        );
      } else {
        // Retry delays: 1000 ms before attempts 2 and 3; none after the last attempt.
        const delay = Date.parse(String(event.FireAt)) - h.at();
        expect(delay).toBe(step === 5 ? 0 : 1000);
        h.next(
          delay,
          historyEvent(HistoryEventType.TimerFired, h.at() + delay, {
            TimerId: event.EventId,
            FireAt: event.FireAt,
          }),
        );
      }
      ep = await runEpisode(fn, h.events);
    }
    expect(ep.error).toContain('nope');
  });

  it('sends entity signals and calls in program order, signals without ids', async () => {
    const fn: OrchestratorFn = function* (ctx) {
      const id = new df.EntityId('counter', 'k');
      ctx.df.signalEntity(id, 'add', 5);
      const v = (yield ctx.df.callEntity(id, 'get')) as number;
      return v;
    };
    const ep = await runEpisode(fn, new HistoryBuilder().events);
    expect(ep.scheduled.map((e) => [HistoryEventType[e.EventType], e.Signal === true])).toEqual([
      ['EventSent', true],
      ['EventSent', false],
    ]);
    // The signal consumed id 0, so the call is id 1 (notes §2.3).
    expect(ep.scheduled[1]?.EventId).toBe(1);
    const call = JSON.parse(String(ep.scheduled[1]?.Input)) as {
      op: string;
      signal: boolean;
      parent: string;
    };
    expect(call).toMatchObject({ op: 'get', signal: false, parent: 'inst' });
  });

  it('splits a 14-day timer into chained timers no longer than 3 days', async () => {
    const fn: OrchestratorFn = function* (ctx) {
      const deadline = new Date(ctx.df.currentUtcDateTime.getTime() + 14 * 86_400_000);
      const winner = (yield ctx.df.Task.any([
        ctx.df.createTimer(deadline),
        ctx.df.waitForExternalEvent('Go'),
      ])) as { result: unknown };
      return winner.result ?? 'timeout';
    };
    const h = new HistoryBuilder();
    const ep = await runEpisode(fn, h.events);
    expect(ids(ep.scheduled)).toEqual([['TimerCreated', 0]]);
    expect(Date.parse(String(ep.scheduled[0]?.FireAt)) - T0).toBe(3 * 86_400_000);
    h.commit(ep.scheduled);
    h.next(3 * 86_400_000, historyEvent(HistoryEventType.TimerFired, h.at(), { TimerId: 0 }));
    const ep2 = await runEpisode(fn, h.events);
    expect(ids(ep2.scheduled)).toEqual([['TimerCreated', 1]]);
    h.commit(ep2.scheduled);
    h.next(1000, historyEvent(HistoryEventType.EventRaised, h.at(), { Name: 'Go', Input: '"now"' }));
    expect((await runEpisode(fn, h.events)).state).toMatchObject({ isDone: true, output: 'now' });
  });

  it('reports callHttp as unsupported instead of hanging', async () => {
    const fn: OrchestratorFn = function* (ctx) {
      return yield ctx.df.callHttp({ method: 'GET', url: 'http://127.0.0.1:1/x' });
    };
    await expect(async () => {
      const h = new HistoryBuilder();
      const context: Record<string, unknown> = {};
      await new Orchestrator(fn as unknown as (ctx: unknown) => Generator<unknown, unknown, unknown>).handle(
        trigger(h.events),
        context,
      );
      const executor = (context.df as { taskOrchestratorExecutor: ExecutorLike }).taskOrchestratorExecutor;
      scheduleOpenTasks(executor, { instanceId: 'inst', nowMs: T0, scheduledIds: new Set(), signalsSent: 0 });
    }).rejects.toThrow(/not supported/);
  });
});
