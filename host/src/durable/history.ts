// Orchestration history events in the shape durable-functions replays: Newtonsoft PascalCase with
// EventType as an integer (shared notes §2.1). Only the fields the JS replay reads are required;
// the rest serve status queries (`showHistory`) and recovery.

/** DurableTask.Core HistoryEventType values. Frozen: these numbers are the wire format. */
export enum HistoryEventType {
  ExecutionStarted = 0,
  ExecutionCompleted = 1,
  ExecutionFailed = 2,
  ExecutionTerminated = 3,
  TaskScheduled = 4,
  TaskCompleted = 5,
  TaskFailed = 6,
  SubOrchestrationInstanceCreated = 7,
  SubOrchestrationInstanceCompleted = 8,
  SubOrchestrationInstanceFailed = 9,
  TimerCreated = 10,
  TimerFired = 11,
  OrchestratorStarted = 12,
  OrchestratorCompleted = 13,
  EventSent = 14,
  EventRaised = 15,
  ContinueAsNew = 16,
  GenericEvent = 17,
  HistoryState = 18,
  ExecutionSuspended = 19,
  ExecutionResumed = 20,
}

export interface HistoryEvent {
  EventType: HistoryEventType;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  /** Not read by the JS replay: the id of the message that delivered this event, for de-duplication. */
  MessageId?: string;
  [field: string]: unknown;
}

export function historyEvent(
  type: HistoryEventType,
  timestampMs: number,
  fields: Record<string, unknown> = {},
  eventId = -1,
): HistoryEvent {
  return {
    EventType: type,
    EventId: eventId,
    IsPlayed: false,
    Timestamp: new Date(timestampMs).toISOString(),
    ...fields,
  };
}

/** Completion events carry the id of the task they complete; one completion per task id is applied. */
export function completionKey(e: HistoryEvent): string | undefined {
  switch (e.EventType) {
    case HistoryEventType.TaskCompleted:
    case HistoryEventType.TaskFailed:
      return `task:${String(e.TaskScheduledId)}`;
    case HistoryEventType.SubOrchestrationInstanceCompleted:
    case HistoryEventType.SubOrchestrationInstanceFailed:
      return `task:${String(e.TaskScheduledId)}`;
    case HistoryEventType.TimerFired:
      return `timer:${String(e.TimerId)}`;
    default:
      return e.MessageId ? `msg:${e.MessageId}` : undefined;
  }
}

/** What is still outstanding after a history: scheduled work with no completion yet (used on recovery). */
export interface OutstandingWork {
  activities: { id: number; name: string; input: string | undefined }[];
  timers: { id: number; fireAt: string }[];
  subOrchestrations: { id: number; name: string; instanceId: string; input: string | undefined }[];
}

export function outstandingWork(history: readonly HistoryEvent[]): OutstandingWork {
  const done = new Set<string>();
  for (const e of history) {
    const key = completionKey(e);
    if (key) done.add(key);
  }
  const out: OutstandingWork = { activities: [], timers: [], subOrchestrations: [] };
  for (const e of history) {
    if (e.EventType === HistoryEventType.TaskScheduled && !done.has(`task:${e.EventId}`)) {
      out.activities.push({ id: e.EventId, name: String(e.Name), input: e.Input as string | undefined });
    } else if (e.EventType === HistoryEventType.TimerCreated && !done.has(`timer:${e.EventId}`)) {
      out.timers.push({ id: e.EventId, fireAt: String(e.FireAt) });
    } else if (
      e.EventType === HistoryEventType.SubOrchestrationInstanceCreated &&
      !done.has(`task:${e.EventId}`)
    ) {
      out.subOrchestrations.push({
        id: e.EventId,
        name: String(e.Name),
        instanceId: String(e.InstanceId),
        input: e.Input as string | undefined,
      });
    }
  }
  return out;
}
