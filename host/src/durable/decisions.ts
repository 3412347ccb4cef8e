// Turns one orchestrator episode into history events. durable-functions numbers every task as it is
// tracked and matches completions by that number, so we must schedule exactly the ids it waits on.
// The real extension re-runs the actions in .NET to learn them; we read them from the executor's
// `openTasks` instead (shared notes §2.4). This relies on durable-functions internals, pinned to
// 3.5.0 in package.json and covered by test/host/durable*.test.ts.
import { randomUUID } from 'node:crypto';
import { HistoryEventType, historyEvent, type HistoryEvent } from './history';

/** durable-functions ActionType values (lib/src/actions/ActionType.js). */
export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

interface ActionLike {
  actionType: number;
  compoundActions?: ActionLike[];
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  operation?: string;
  fireAt?: Date | string;
}

interface RetryOptionsLike {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
}

interface TaskLike {
  id: number | string | false;
  actionObj: ActionLike | 'noOp' | undefined;
  parent?: TaskLike & { isWaitingOnTimer?: boolean; attemptNumber?: number; retryOptions?: RetryOptionsLike };
}

export interface ExecutorLike {
  openTasks: Record<string, TaskLike>;
  actions: ActionLike[];
  willContinueAsNew: boolean;
}

export class UnsupportedFeatureError extends Error {
  readonly code = 'DURABLE.UNSUPPORTED';
}

/** Inputs the JS library pre-encodes (`Utils.processInput`): strings arrive as JSON text already. */
function processedInputToJson(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  return typeof input === 'string' ? input : JSON.stringify(input);
}

/** Inputs passed raw (sub-orchestrations, entities). */
function rawInputToJson(input: unknown): string | undefined {
  return input === undefined ? undefined : JSON.stringify(input);
}

export function retryDelayMs(options: RetryOptionsLike, attemptNumber: number): number {
  // attemptNumber is the attempt about to run (2 for the first retry). After the last attempt JS still
  // waits on one timer before failing; nothing is retried, so that timer fires at once.
  if (attemptNumber > options.maxNumberOfAttempts) return 0;
  const coefficient =
    options.backoffCoefficient && options.backoffCoefficient > 0 ? options.backoffCoefficient : 1;
  let delay =
    options.firstRetryIntervalInMilliseconds * Math.pow(coefficient, Math.max(0, attemptNumber - 2));
  if (options.maxRetryIntervalInMilliseconds && options.maxRetryIntervalInMilliseconds > 0) {
    delay = Math.min(delay, options.maxRetryIntervalInMilliseconds);
  }
  return delay;
}

export interface EpisodeContext {
  instanceId: string;
  nowMs: number;
  /** EventIds already scheduled in this execution (TaskScheduled, TimerCreated, SubOrch created, EventSent). */
  scheduledIds: ReadonlySet<number>;
  /** How many signals this execution has already sent (fire-and-forget actions carry no id). */
  signalsSent: number;
}

/** New history events for the work the orchestrator now waits on, in id order. */
export function scheduleOpenTasks(executor: ExecutorLike, ctx: EpisodeContext): HistoryEvent[] {
  // Messages to entities must leave in the order the code issued them (a signal then a call must
  // reach the entity in that order), so every event is ranked by its action's position.
  const order = new Map<ActionLike, number>();
  const walk = (actions: readonly ActionLike[]): void => {
    for (const a of actions) {
      if (!order.has(a)) order.set(a, order.size);
      if (a.compoundActions) walk(a.compoundActions);
    }
  };
  walk(executor.actions);
  const ranked: { rank: number; event: HistoryEvent }[] = [];
  const events = {
    push: (event: HistoryEvent, action?: ActionLike): void => {
      ranked.push({
        rank: action ? (order.get(action) ?? Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER,
        event,
      });
    },
  };
  const ids = Object.keys(executor.openTasks)
    .filter((k) => /^\d+$/.test(k))
    .map(Number)
    .sort((a, b) => a - b);
  for (const id of ids) {
    if (ctx.scheduledIds.has(id)) continue;
    const task = executor.openTasks[String(id)];
    if (!task) continue;
    let action = task.actionObj;
    if (action === 'noOp' || action === undefined) {
      const parent = task.parent;
      if (!parent?.retryOptions) continue;
      if (parent.isWaitingOnTimer) {
        const delay = retryDelayMs(parent.retryOptions, parent.attemptNumber ?? 2);
        events.push(
          historyEvent(
            HistoryEventType.TimerCreated,
            ctx.nowMs,
            { FireAt: new Date(ctx.nowMs + delay).toISOString() },
            id,
          ),
        );
        continue;
      }
      action = parent.actionObj;
      if (action === 'noOp' || action === undefined) continue;
    }
    events.push(eventForAction(action, id, ctx), action);
  }
  const signals = executor.actions.filter((a) => a.actionType === ActionType.SignalEntity);
  for (const signal of signals.slice(ctx.signalsSent)) {
    events.push(
      historyEvent(HistoryEventType.EventSent, ctx.nowMs, {
        InstanceId: signal.instanceId,
        Name: 'op',
        Signal: true,
        Input: JSON.stringify({
          id: randomUUID(),
          op: signal.operation,
          signal: true,
          input: rawInputToJson(signal.input),
          parent: ctx.instanceId,
        }),
      }),
      signal,
    );
  }
  // Array.prototype.sort is stable: equal ranks keep id order.
  return ranked.sort((a, b) => a.rank - b.rank).map((r) => r.event);
}

function eventForAction(action: ActionLike, id: number, ctx: EpisodeContext): HistoryEvent {
  switch (action.actionType) {
    case ActionType.CallActivity:
    case ActionType.CallActivityWithRetry:
      return historyEvent(
        HistoryEventType.TaskScheduled,
        ctx.nowMs,
        { Name: action.functionName, Input: processedInputToJson(action.input) },
        id,
      );
    case ActionType.CallSubOrchestrator:
    case ActionType.CallSubOrchestratorWithRetry:
      return historyEvent(
        HistoryEventType.SubOrchestrationInstanceCreated,
        ctx.nowMs,
        {
          Name: action.functionName,
          // Default child id: parent id and sequence number, deterministic across replays.
          InstanceId: action.instanceId || `${ctx.instanceId}:${id}`,
          Input: rawInputToJson(action.input),
        },
        id,
      );
    case ActionType.CreateTimer: {
      const fireAt = action.fireAt instanceof Date ? action.fireAt : new Date(String(action.fireAt));
      return historyEvent(HistoryEventType.TimerCreated, ctx.nowMs, { FireAt: fireAt.toISOString() }, id);
    }
    case ActionType.CallEntity:
      return historyEvent(
        HistoryEventType.EventSent,
        ctx.nowMs,
        {
          InstanceId: action.instanceId,
          Name: 'op',
          Input: JSON.stringify({
            id: randomUUID(),
            op: action.operation,
            signal: false,
            input: rawInputToJson(action.input),
            parent: ctx.instanceId,
          }),
        },
        id,
      );
    case ActionType.CallHttp:
      throw new UnsupportedFeatureError(
        'Durable HTTP (context.df.callHttp) is not supported by the local host',
      );
    case ActionType.LockEntities:
      throw new UnsupportedFeatureError('Entity locks (context.df.lock) are not supported by the local host');
    default:
      throw new UnsupportedFeatureError(`Unsupported durable action type ${action.actionType}`);
  }
}

export function continueAsNewInput(executor: ExecutorLike): string | undefined {
  const action = [...executor.actions].reverse().find((a) => a.actionType === ActionType.ContinueAsNew);
  return action ? processedInputToJson(action.input) : undefined;
}

/** Parses the OrchestratorState that comes back as the orchestrator's return value or in its failure message. */
export interface OrchestratorStateLike {
  isDone: boolean;
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  failureDetails?: unknown;
}

const OUT_OF_PROC_MARKER = '$OutOfProcData$:';

export function stateFromFailureMessage(message: string): OrchestratorStateLike | undefined {
  const at = message.indexOf(OUT_OF_PROC_MARKER);
  if (at < 0) return undefined;
  try {
    return JSON.parse(message.slice(at + OUT_OF_PROC_MARKER.length)) as OrchestratorStateLike;
  } catch {
    return undefined;
  }
}
