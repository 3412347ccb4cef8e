// A scripted stand-in for durable-functions' orchestration context, to test the VM orchestrators'
// decisions without a host: every durable call becomes a plain task object, and a script answers each
// one in order. The test then asserts the exact sequence of tasks the orchestrator scheduled.
import type { OrchestrationContext } from 'durable-functions';

export type FakeTask =
  | { kind: 'activity'; name: string; input: unknown; retry: boolean }
  | { kind: 'entity'; entity: string; key: string; op: string; input: unknown }
  | { kind: 'event'; name: string }
  | { kind: 'timer'; fireAt: Date; cancelled: boolean; cancel(): void }
  | { kind: 'all'; tasks: FakeTask[] }
  | { kind: 'any'; tasks: FakeTask[] };

/** The answer to a task; `{ throws: Error }` makes the orchestrator's yield throw (a failed activity). */
export type Answer = unknown;

export interface Run<T> {
  readonly tasks: FakeTask[];
  readonly result: T;
}

export function fakeContext(input: unknown, opts: { instanceId?: string; now?: Date } = {}) {
  const clock = { now: opts.now ?? new Date('2030-01-01T00:00:00Z') };
  const df = {
    instanceId: opts.instanceId ?? 'instance-1',
    get currentUtcDateTime() {
      return clock.now;
    },
    getInput: () => input,
    callActivity: (name: string, inp?: unknown): FakeTask => ({
      kind: 'activity',
      name,
      input: inp,
      retry: false,
    }),
    callActivityWithRetry: (name: string, _retry: unknown, inp?: unknown): FakeTask => ({
      kind: 'activity',
      name,
      input: inp,
      retry: true,
    }),
    callEntity: (id: { name: string; key: string }, op: string, inp?: unknown): FakeTask => ({
      kind: 'entity',
      entity: id.name,
      key: id.key,
      op,
      input: inp,
    }),
    waitForExternalEvent: (name: string): FakeTask => ({ kind: 'event', name }),
    createTimer: (fireAt: Date): FakeTask => {
      const t = {
        kind: 'timer' as const,
        fireAt,
        cancelled: false,
        cancel() {
          t.cancelled = true;
        },
      };
      return t;
    },
    Task: {
      all: (tasks: FakeTask[]): FakeTask => ({ kind: 'all', tasks }),
      any: (tasks: FakeTask[]): FakeTask => ({ kind: 'any', tasks }),
    },
  };
  return { context: { df } as unknown as OrchestrationContext, clock };
}

/**
 * Runs an orchestrator generator to its end. `answer` is asked for every yielded task (an `all` task
 * is answered as a whole, with an array); it may move the clock.
 */
export function drive<T>(
  gen: Generator<unknown, T, unknown>,
  answer: (task: FakeTask, index: number) => Answer,
): Run<T> {
  const tasks: FakeTask[] = [];
  let step = gen.next();
  while (!step.done) {
    const task = step.value as FakeTask;
    tasks.push(task);
    const a = answer(task, tasks.length - 1);
    if (a !== null && typeof a === 'object' && 'throws' in a && a.throws instanceof Error) {
      step = gen.throw(a.throws);
    } else {
      step = gen.next(a);
    }
    if (tasks.length > 10_000) throw new Error('the orchestrator does not end');
  }
  return { tasks, result: step.value };
}

/** Names of the tasks, flattened (`all` shows its members), for compact sequence assertions. */
export function names(tasks: readonly FakeTask[]): string[] {
  return tasks.flatMap((t): string[] => {
    switch (t.kind) {
      case 'activity':
        return [t.name];
      case 'entity':
        return [`${t.entity}.${t.op}`];
      case 'event':
        return [`event:${t.name}`];
      case 'timer':
        return ['timer'];
      case 'all':
        return [`all(${names(t.tasks).join(',')})`];
      case 'any':
        return [`any(${names(t.tasks).join(',')})`];
    }
  });
}
