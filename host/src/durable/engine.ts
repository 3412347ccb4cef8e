// The Durable Functions engine: one in-memory actor per instance, serialised by a per-instance lock,
// whose every episode commits atomically to the store before any of its effects (activities, timers,
// messages to other instances) are released. A crash therefore loses nothing that was acknowledged:
// on restart, outstanding activities are re-run (at least once), timers re-armed, inbox messages
// re-applied and undelivered outbox messages delivered again (they are de-duplicated on arrival).
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import type { Invoker } from '../core/invoker';
import type { FunctionRegistry, RegisteredFunction } from '../core/registry';
import type { RpcTypedData } from '../core/types';
import type { Logger } from '../logger';
import {
  continueAsNewInput,
  scheduleOpenTasks,
  stateFromFailureMessage,
  type ExecutorLike,
  type OrchestratorStateLike,
} from './decisions';
import { HistoryEventType, completionKey, historyEvent, outstandingWork, type HistoryEvent } from './history';
import { Limiter } from './limiter';
import {
  ConcurrencyError,
  isTerminal,
  type DurableStore,
  type InboxMessage,
  type InstanceRecord,
  type OutboxMessage,
  type ParentRef,
} from './store';
import { TimerService, type ArmedTimer } from './timerService';

/** Real defaults: maxConcurrentActivityFunctions and maxConcurrentOrchestratorFunctions are 10 × cores. */
export const ACTIVITY_CONCURRENCY = 20;
export const EPISODE_CONCURRENCY = 20;
/** Messages applied in one episode; keeps each commit within the 100-operation transaction limit. */
const MAX_INBOX_PER_EPISODE = 60;
/** Entities remember this many request ids to drop redelivered operations. */
const ENTITY_DEDUP_WINDOW = 1000;
/** A continueAsNew loop with no awaits in between is cut off here. */
const MAX_CONTINUE_AS_NEW_PER_EPISODE = 1000;
const RETRY_AFTER_STORE_ERROR_MS = 500;

const TRIGGER = {
  orchestration: 'orchestrationtrigger',
  activity: 'activitytrigger',
  entity: 'entitytrigger',
} as const;

interface PendingItem {
  message: InboxMessage;
  persisted: boolean;
}

interface Actor {
  readonly instanceId: string;
  loaded: boolean;
  record: InstanceRecord | undefined;
  history: HistoryEvent[];
  applied: Set<string>;
  pending: PendingItem[];
  /** Activities already handed to the activity runner, per execution: `${executionId}|${taskId}`. */
  dispatched: Set<string>;
  lock: Promise<void>;
  draining: boolean;
}

export interface EngineDeps {
  registry: FunctionRegistry;
  invoker: Invoker;
  clock: Clock;
  logger: Logger;
  store: DurableStore;
}

export class InstanceConflictError extends Error {
  readonly code = 'DURABLE.INSTANCE_EXISTS';
}

export class DurableEngine {
  private readonly actors = new Map<string, Actor>();
  private readonly episodes = new Limiter(EPISODE_CONCURRENCY);
  private readonly activities = new Limiter(ACTIVITY_CONCURRENCY);
  private readonly timers: TimerService;
  private readonly background = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(private readonly deps: EngineDeps) {
    this.timers = new TimerService(deps.clock, (t) => this.onTimerFired(t));
  }

  get store(): DurableStore {
    return this.deps.store;
  }

  async start(): Promise<void> {
    await this.deps.store.init();
    this.timers.start();
    const ids = await this.deps.store.findInstancesToResume();
    if (ids.length > 0) this.deps.logger.info(`Durable: resuming ${ids.length} instance(s) from storage`);
    for (const id of ids) this.kick(this.actor(id));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.timers.stop();
    await this.episodes.idle();
    await this.activities.idle();
    await Promise.allSettled([...this.background]);
  }

  // ---- client operations (used by the HTTP API) -----------------------------------------------

  async startNew(name: string, instanceId: string, inputJson: string | undefined): Promise<void> {
    const fn = this.deps.registry.get(name);
    if (!fn || fn.trigger.type.toLowerCase() !== TRIGGER.orchestration) {
      throw new FunctionNotFoundError(
        `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`,
      );
    }
    const actor = this.actor(instanceId);
    await this.exclusive(actor, async () => {
      await this.ensureLoaded(actor);
      const existing = actor.record;
      if (existing && !isTerminal(existing.runtimeStatus)) {
        throw new InstanceConflictError(
          `An instance with ID '${instanceId}' already exists and is ${existing.runtimeStatus}.`,
        );
      }
      const now = new Date(this.deps.clock.now()).toISOString();
      const start = this.startMessage(fn.name, inputJson, undefined);
      const record: InstanceRecord = {
        instanceId,
        name: fn.name,
        runtimeStatus: 'Pending',
        input: inputJson,
        output: undefined,
        customStatus: undefined,
        createdTime: now,
        lastUpdatedTime: now,
        executionId: '',
        parent: undefined,
        historyStartSeq: existing?.nextSeq ?? 0,
        nextSeq: existing?.nextSeq ?? 0,
        isEntity: false,
        entityState: undefined,
        entityExists: false,
        processedRequestIds: [],
        etag: existing?.etag,
      };
      record.etag = await this.deps.store.commit(instanceId, {
        record,
        isNew: !existing,
        appendHistory: undefined,
        consumedInbox: [],
        outbox: undefined,
        inboxInsert: [start],
      });
      actor.record = record;
      actor.history = [];
      actor.applied = new Set();
      actor.pending.push({ message: start, persisted: true });
    });
    this.kick(actor);
  }

  /** Sends a message to an instance's inbox (durably) and wakes it. */
  async send(target: string, message: InboxMessage): Promise<void> {
    await this.deps.store.deliver(target, message);
    this.enqueue(target, message, true);
  }

  async getRecord(instanceId: string): Promise<InstanceRecord | undefined> {
    const actor = this.actors.get(instanceId);
    if (actor?.loaded) return actor.record;
    return this.deps.store.getRecord(instanceId);
  }

  async getHistory(instanceId: string): Promise<HistoryEvent[]> {
    const actor = this.actors.get(instanceId);
    if (actor?.loaded) return [...actor.history];
    const snap = await this.deps.store.load(instanceId);
    return snap.history.flatMap((r) => r.events);
  }

  async purge(instanceId: string): Promise<boolean> {
    const actor = this.actor(instanceId);
    let purged = false;
    await this.exclusive(actor, async () => {
      await this.ensureLoaded(actor);
      if (!actor.record || !isTerminal(actor.record.runtimeStatus)) return;
      purged = await this.deps.store.purge(instanceId);
      this.actors.delete(instanceId);
    });
    return purged;
  }

  newMessageId(): string {
    return randomUUID();
  }

  // ---- actors ---------------------------------------------------------------------------------

  private actor(instanceId: string): Actor {
    let a = this.actors.get(instanceId);
    if (!a) {
      a = {
        instanceId,
        loaded: false,
        record: undefined,
        history: [],
        applied: new Set(),
        pending: [],
        dispatched: new Set(),
        lock: Promise.resolve(),
        draining: false,
      };
      this.actors.set(instanceId, a);
    }
    return a;
  }

  private exclusive<T>(actor: Actor, work: () => Promise<T>): Promise<T> {
    const run = actor.lock.then(work);
    actor.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private enqueue(instanceId: string, message: InboxMessage, persisted: boolean): void {
    if (this.stopping) return;
    const actor = this.actor(instanceId);
    actor.pending.push({ message, persisted });
    this.kick(actor);
  }

  private kick(actor: Actor): void {
    if (actor.draining || this.stopping) return;
    actor.draining = true;
    this.track(
      this.episodes
        .run(() => this.exclusive(actor, () => this.drain(actor)))
        .catch((err: unknown) =>
          this.deps.logger.error(`Durable: instance ${actor.instanceId}: ${errorText(err)}`),
        )
        .finally(() => {
          actor.draining = false;
          if (actor.pending.length > 0 && !this.stopping) this.kick(actor);
        }),
    );
  }

  private track(p: Promise<unknown>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  private async ensureLoaded(actor: Actor): Promise<void> {
    if (actor.loaded) return;
    const snap = await this.deps.store.load(actor.instanceId);
    actor.record = snap.record;
    actor.history = snap.history.flatMap((r) => r.events);
    actor.applied = new Set(actor.history.map(completionKey).filter((k): k is string => k !== undefined));
    const known = new Set(actor.pending.map((p) => p.message.id));
    for (const m of snap.inbox) if (!known.has(m.id)) actor.pending.push({ message: m, persisted: true });
    actor.loaded = true;
    for (const o of snap.outbox) this.deliverOutbox(actor.instanceId, o.seq, o.messages);
    if (actor.record && !actor.record.isEntity && actor.record.runtimeStatus === 'Running') {
      this.releaseOutstandingWork(actor);
    }
  }

  /** Re-dispatches activities and re-arms timers that the history shows as still outstanding. */
  private releaseOutstandingWork(actor: Actor): void {
    const record = actor.record;
    if (!record) return;
    const work = outstandingWork(actor.history);
    for (const a of work.activities) this.dispatchActivity(actor, record.executionId, a.id, a.name, a.input);
    for (const t of work.timers) {
      this.timers.arm({
        instanceId: actor.instanceId,
        executionId: record.executionId,
        timerId: t.id,
        fireAtMs: Date.parse(t.fireAt),
      });
    }
  }

  private async drain(actor: Actor): Promise<void> {
    for (;;) {
      if (this.stopping) return;
      try {
        await this.ensureLoaded(actor);
      } catch (err) {
        this.deps.logger.warn(`Durable: loading ${actor.instanceId} failed, retrying: ${errorText(err)}`);
        await sleep(RETRY_AFTER_STORE_ERROR_MS);
        continue;
      }
      if (actor.pending.length === 0) return;
      const batch = takeBatch(actor);
      try {
        if (actor.record?.isEntity || (!actor.record && actor.instanceId.startsWith('@'))) {
          await this.runEntityBatch(actor, batch);
        } else {
          await this.runOrchestrationEpisode(actor, batch);
        }
      } catch (err) {
        // Put the batch back; a concurrency conflict means our cached copy is stale.
        actor.pending.unshift(...batch);
        if (err instanceof ConcurrencyError) actor.loaded = false;
        this.deps.logger.warn(`Durable: episode for ${actor.instanceId} failed, retrying: ${errorText(err)}`);
        await sleep(RETRY_AFTER_STORE_ERROR_MS);
      }
      if (actor.record && isTerminal(actor.record.runtimeStatus) && actor.pending.length === 0) {
        // Finished instances need no cache; the store answers status queries.
        this.actors.delete(actor.instanceId);
        return;
      }
    }
  }

  // ---- orchestrations -------------------------------------------------------------------------

  private startMessage(
    name: string,
    inputJson: string | undefined,
    parent: ParentRef | undefined,
  ): Extract<InboxMessage, { kind: 'start' }> {
    const now = this.deps.clock.now();
    return {
      id: randomUUID(),
      kind: 'start',
      name,
      input: inputJson,
      parent,
      event: historyEvent(HistoryEventType.ExecutionStarted, now, {
        Name: name,
        Input: inputJson,
        Version: '',
        ...(parent
          ? {
              ParentInstance: {
                OrchestrationInstance: { InstanceId: parent.instanceId },
                TaskScheduleId: parent.taskScheduledId,
              },
            }
          : {}),
      }),
    };
  }

  private async runOrchestrationEpisode(actor: Actor, batch: PendingItem[]): Promise<void> {
    const nowMs = this.deps.clock.now();
    const now = new Date(nowMs).toISOString();
    const consumed = persistedIds(batch);
    let record = actor.record ? { ...actor.record } : undefined;
    let history = actor.history;
    let applied = actor.applied;
    const newEvents: HistoryEvent[] = [];
    const outbox: OutboxMessage[] = [];
    let isNew = !record?.etag;
    let terminatedReason: string | undefined;
    const deferred: PendingItem[] = [];

    for (const item of batch) {
      const m = item.message;
      if (m.kind === 'start') {
        // A start message is applied once: its id becomes the execution id.
        if (record && record.executionId === m.id) continue;
        if (record && !isTerminal(record.runtimeStatus) && record.executionId !== '') continue;
        const fresh = !record;
        record = {
          instanceId: actor.instanceId,
          name: m.name,
          runtimeStatus: 'Running',
          input: m.input,
          output: undefined,
          customStatus: undefined,
          createdTime: record?.runtimeStatus === 'Pending' ? record.createdTime : now,
          lastUpdatedTime: now,
          executionId: m.id,
          parent: m.parent,
          historyStartSeq: record?.nextSeq ?? 0,
          nextSeq: record?.nextSeq ?? 0,
          isEntity: false,
          entityState: undefined,
          entityExists: false,
          processedRequestIds: [],
          etag: record?.etag,
        };
        isNew = fresh;
        history = [];
        applied = new Set();
        newEvents.length = 0;
        newEvents.push({ ...m.event, Timestamp: now });
        continue;
      }
      if (!record || isTerminal(record.runtimeStatus)) continue; // nobody to deliver to: drop
      if (m.kind === 'terminate') {
        terminatedReason = m.reason;
        continue;
      }
      if (m.kind === 'suspend' || m.kind === 'resume') {
        if (m.kind === 'suspend' && record.runtimeStatus === 'Running') {
          record.runtimeStatus = 'Suspended';
          newEvents.push(historyEvent(HistoryEventType.ExecutionSuspended, nowMs, { Reason: m.reason }));
        } else if (m.kind === 'resume' && record.runtimeStatus === 'Suspended') {
          record.runtimeStatus = 'Running';
          newEvents.push(historyEvent(HistoryEventType.ExecutionResumed, nowMs, { Reason: m.reason }));
        }
        continue;
      }
      if (m.kind !== 'event') continue;
      if (record.runtimeStatus === 'Suspended') {
        deferred.push(item);
        continue;
      }
      const key = completionKey(m.event);
      if (key && (applied.has(key) || newEvents.some((e) => completionKey(e) === key))) continue;
      newEvents.push(m.event);
    }

    if (!record) {
      // Messages for an instance that does not exist: consume them so they are not retried forever.
      if (consumed.length > 0) await this.deps.store.consumeOnly(actor.instanceId, consumed);
      return;
    }
    if (terminatedReason !== undefined && !isTerminal(record.runtimeStatus)) {
      record.runtimeStatus = 'Terminated';
      record.output = JSON.stringify(terminatedReason);
      record.lastUpdatedTime = now;
      const events = [
        historyEvent(HistoryEventType.OrchestratorStarted, nowMs),
        ...newEvents,
        historyEvent(HistoryEventType.ExecutionTerminated, nowMs, {
          Input: JSON.stringify(terminatedReason),
        }),
        historyEvent(HistoryEventType.OrchestratorCompleted, nowMs),
      ];
      await this.commitOrchestration(actor, record, isNew, history, applied, events, consumed, outbox);
      this.deps.logger.info(
        `Durable: '${record.name}' (${actor.instanceId}) terminated: ${terminatedReason}`,
      );
      return;
    }
    const runnable = record.runtimeStatus !== 'Suspended' && newEvents.some(isReplayTrigger);
    if (!runnable) {
      // Nothing for the orchestrator to see (duplicates, a suspend): record what changed, if anything.
      const events =
        newEvents.length > 0 ? [historyEvent(HistoryEventType.OrchestratorStarted, nowMs), ...newEvents] : [];
      if (events.length > 0 || consumed.length > 0) {
        record.lastUpdatedTime = now;
        await this.commitOrchestration(actor, record, isNew, history, applied, events, consumed, outbox);
      }
      actor.pending.unshift(...deferred);
      return;
    }

    // Run the orchestrator; continueAsNew restarts it in the same episode with a fresh history.
    let episode: HistoryEvent[] = [historyEvent(HistoryEventType.OrchestratorStarted, nowMs), ...newEvents];
    for (let round = 0; ; round++) {
      const result = await this.invokeOrchestrator(record, [...history.map(played), ...episode]);
      if (result.kind === 'continueAsNew') {
        if (round >= MAX_CONTINUE_AS_NEW_PER_EPISODE) {
          this.failRecord(record, episode, nowMs, 'continueAsNew looped without awaiting anything');
          break;
        }
        const start = this.startMessage(record.name, result.input, record.parent);
        record.input = result.input;
        record.executionId = start.id;
        record.customStatus = undefined;
        record.historyStartSeq = record.nextSeq;
        history = [];
        applied = new Set();
        episode = [historyEvent(HistoryEventType.OrchestratorStarted, nowMs), start.event];
        continue;
      }
      if (result.kind === 'failed') {
        this.failRecord(record, episode, nowMs, result.message, result.details);
        if (record.parent) outbox.push(this.parentFailure(record, result.message, result.details));
        break;
      }
      record.customStatus = result.customStatus;
      episode.push(...result.scheduled);
      for (const e of result.scheduled) outbox.push(...this.outboxFor(record, e));
      if (result.kind === 'completed') {
        record.runtimeStatus = 'Completed';
        record.output = result.output;
        episode.push(
          historyEvent(HistoryEventType.ExecutionCompleted, nowMs, {
            OrchestrationStatus: 'Completed',
            Result: result.output,
          }),
        );
        if (record.parent) {
          outbox.push({
            target: record.parent.instanceId,
            message: {
              id: `${actor.instanceId}|${record.executionId}|completed`,
              kind: 'event',
              event: historyEvent(HistoryEventType.SubOrchestrationInstanceCompleted, nowMs, {
                TaskScheduledId: record.parent.taskScheduledId,
                Result: result.output,
              }),
            },
          });
        }
      } else {
        record.runtimeStatus = 'Running';
      }
      break;
    }
    episode.push(historyEvent(HistoryEventType.OrchestratorCompleted, nowMs));
    record.lastUpdatedTime = now;
    await this.commitOrchestration(actor, record, isNew, history, applied, episode, consumed, outbox);
    actor.pending.unshift(...deferred);
  }

  private failRecord(
    record: InstanceRecord,
    episode: HistoryEvent[],
    nowMs: number,
    message: string,
    details?: string,
  ): void {
    record.runtimeStatus = 'Failed';
    record.output = JSON.stringify(`Orchestrator function '${record.name}' failed: ${message}`);
    episode.push(
      historyEvent(HistoryEventType.ExecutionCompleted, nowMs, {
        OrchestrationStatus: 'Failed',
        Result: message,
        FailureDetails: { ErrorType: 'Error', ErrorMessage: message, StackTrace: details ?? null },
      }),
    );
    this.deps.logger.warn(`Durable: '${record.name}' (${record.instanceId}) failed: ${message}`);
  }

  private parentFailure(record: InstanceRecord, message: string, details?: string): OutboxMessage {
    const parent = record.parent as ParentRef;
    return {
      target: parent.instanceId,
      message: {
        id: `${record.instanceId}|${record.executionId}|failed`,
        kind: 'event',
        event: historyEvent(HistoryEventType.SubOrchestrationInstanceFailed, this.deps.clock.now(), {
          TaskScheduledId: parent.taskScheduledId,
          Reason: `Sub-orchestration '${record.name}' failed: ${message}`,
          Details: details ?? '',
        }),
      },
    };
  }

  /** Messages to other instances implied by a newly scheduled event. */
  private outboxFor(record: InstanceRecord, e: HistoryEvent): OutboxMessage[] {
    if (e.EventType === HistoryEventType.SubOrchestrationInstanceCreated) {
      const child = String(e.InstanceId);
      const start = this.startMessage(String(e.Name), e.Input as string | undefined, {
        instanceId: record.instanceId,
        taskScheduledId: e.EventId,
      });
      // Deterministic id: a redelivered start is recognised by the child.
      return [
        {
          target: child,
          message: { ...start, id: `${record.instanceId}|${record.executionId}|start|${e.EventId}` },
        },
      ];
    }
    if (e.EventType === HistoryEventType.EventSent) {
      const request = JSON.parse(String(e.Input)) as {
        id: string;
        op: string;
        signal: boolean;
        input?: string;
        parent: string;
      };
      return [
        {
          target: String(e.InstanceId),
          message: {
            id: request.id,
            kind: 'entityOp',
            operation: request.op,
            input: request.input,
            signal: request.signal,
            parentInstanceId: request.signal ? undefined : record.instanceId,
          },
        },
      ];
    }
    return [];
  }

  private async commitOrchestration(
    actor: Actor,
    record: InstanceRecord,
    isNew: boolean,
    history: HistoryEvent[],
    applied: Set<string>,
    episode: HistoryEvent[],
    consumed: string[],
    outbox: OutboxMessage[],
  ): Promise<void> {
    const seq = record.nextSeq;
    const appendHistory = episode.length > 0 ? { seq, events: episode } : undefined;
    if (appendHistory) record.nextSeq = seq + 1;
    const outboxRow = outbox.length > 0 ? { seq, messages: outbox } : undefined;
    const previousStart = actor.record?.historyStartSeq ?? 0;
    record.etag = await this.deps.store.commit(actor.instanceId, {
      record,
      isNew,
      appendHistory,
      consumedInbox: consumed,
      outbox: outboxRow,
      inboxInsert: [],
    });
    // Committed: now, and only now, release the episode's effects.
    const executionChanged = actor.record?.executionId !== record.executionId;
    actor.record = record;
    actor.history = [...history, ...episode];
    actor.applied = applied;
    for (const e of episode) {
      const k = completionKey(e);
      if (k) actor.applied.add(k);
    }
    if (executionChanged) actor.dispatched.clear();
    if (record.historyStartSeq > previousStart) {
      this.track(
        this.deps.store.deleteHistoryBefore(actor.instanceId, record.historyStartSeq).catch(() => undefined),
      );
    }
    if (record.runtimeStatus === 'Running') {
      for (const e of episode) {
        if (e.EventType === HistoryEventType.TaskScheduled) {
          this.dispatchActivity(
            actor,
            record.executionId,
            e.EventId,
            String(e.Name),
            e.Input as string | undefined,
          );
        } else if (e.EventType === HistoryEventType.TimerCreated) {
          this.timers.arm({
            instanceId: actor.instanceId,
            executionId: record.executionId,
            timerId: e.EventId,
            fireAtMs: Date.parse(String(e.FireAt)),
          });
        }
      }
    }
    if (outboxRow) this.deliverOutbox(actor.instanceId, outboxRow.seq, outboxRow.messages);
  }

  private deliverOutbox(instanceId: string, seq: number, messages: OutboxMessage[]): void {
    this.track(
      (async () => {
        for (;;) {
          try {
            for (const m of messages) await this.send(m.target, m.message);
            await this.deps.store.deleteOutbox(instanceId, seq);
            return;
          } catch (err) {
            if (this.stopping) return;
            this.deps.logger.warn(
              `Durable: delivering messages from ${instanceId} failed, retrying: ${errorText(err)}`,
            );
            await sleep(RETRY_AFTER_STORE_ERROR_MS);
          }
        }
      })(),
    );
  }

  private async invokeOrchestrator(
    record: InstanceRecord,
    history: HistoryEvent[],
  ): Promise<
    | {
        kind: 'running' | 'completed';
        scheduled: HistoryEvent[];
        output: string;
        customStatus: string | undefined;
      }
    | { kind: 'continueAsNew'; input: string | undefined }
    | { kind: 'failed'; message: string; details?: string }
  > {
    const fn = this.deps.registry.get(record.name);
    if (!fn || fn.trigger.type.toLowerCase() !== TRIGGER.orchestration) {
      return {
        kind: 'failed',
        message: `The function '${record.name}' doesn't exist or is not an orchestrator function.`,
      };
    }
    const payload = {
      history,
      input: record.input === undefined ? undefined : (JSON.parse(record.input) as unknown),
      instanceId: record.instanceId,
      isReplaying: false,
      parentInstanceId: record.parent?.instanceId ?? null,
      upperSchemaVersion: 1,
      // V3: long timers are split by the library, and ctx.df.lock fails clearly (not implemented here).
      upperSchemaVersionNew: 2,
      longRunningTimerIntervalDuration: '3.00:00:00',
      maximumShortTimerDuration: '6.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    let executor: ExecutorLike | undefined;
    const outcome = await this.deps.invoker.invoke(
      fn,
      { inputData: [{ name: fn.triggerName, data: { string: JSON.stringify(payload) } }] },
      {
        quiet: true,
        inspectContext: (ctx) => {
          executor = (ctx as { df?: { taskOrchestratorExecutor?: ExecutorLike } }).df
            ?.taskOrchestratorExecutor;
        },
      },
    );
    let state: OrchestratorStateLike | undefined;
    if (outcome.ok) state = parseTyped(outcome.returnValue) as OrchestratorStateLike | undefined;
    else {
      state = stateFromFailureMessage(outcome.error?.message ?? '');
      const message = state?.error ?? outcome.error?.message ?? 'Orchestrator failed';
      return { kind: 'failed', message, details: outcome.error?.stack };
    }
    if (!state || !executor) return { kind: 'failed', message: 'The orchestrator returned no state' };
    if (executor.willContinueAsNew) return { kind: 'continueAsNew', input: continueAsNewInput(executor) };
    const scheduledIds = new Set<number>();
    let signalsSent = 0;
    for (const e of history) {
      if (
        e.EventType === HistoryEventType.TaskScheduled ||
        e.EventType === HistoryEventType.TimerCreated ||
        e.EventType === HistoryEventType.SubOrchestrationInstanceCreated ||
        (e.EventType === HistoryEventType.EventSent && e.Signal !== true)
      ) {
        scheduledIds.add(e.EventId);
      }
      if (e.EventType === HistoryEventType.EventSent && e.Signal === true) signalsSent++;
    }
    let scheduled: HistoryEvent[];
    try {
      scheduled = scheduleOpenTasks(executor, {
        instanceId: record.instanceId,
        nowMs: this.deps.clock.now(),
        scheduledIds,
        signalsSent,
      });
    } catch (err) {
      return { kind: 'failed', message: errorText(err) };
    }
    const customStatus = state.customStatus === undefined ? undefined : JSON.stringify(state.customStatus);
    return {
      kind: state.isDone ? 'completed' : 'running',
      scheduled,
      output: JSON.stringify(state.output ?? null),
      customStatus,
    };
  }

  // ---- activities -----------------------------------------------------------------------------

  private dispatchActivity(
    actor: Actor,
    executionId: string,
    taskId: number,
    name: string,
    input: string | undefined,
  ): void {
    const key = `${executionId}|${taskId}`;
    if (actor.dispatched.has(key) || this.stopping) return;
    actor.dispatched.add(key);
    this.track(
      this.activities.run(async () => {
        if (this.stopping) return;
        const event = await this.runActivity(actor.instanceId, name, input, taskId);
        if (this.stopping) return;
        // Only the execution that scheduled it may see the result.
        if (actor.record?.executionId !== executionId && this.actors.get(actor.instanceId) === actor) return;
        this.enqueue(actor.instanceId, { id: randomUUID(), kind: 'event', event }, false);
      }),
    );
  }

  private async runActivity(
    instanceId: string,
    name: string,
    input: string | undefined,
    taskId: number,
  ): Promise<HistoryEvent> {
    const fn = this.deps.registry.get(name);
    const now = (): number => this.deps.clock.now();
    if (!fn || fn.trigger.type.toLowerCase() !== TRIGGER.activity) {
      const reason = `The function '${name}' doesn't exist, is disabled, or is not an activity function.`;
      return historyEvent(HistoryEventType.TaskFailed, now(), {
        TaskScheduledId: taskId,
        Reason: reason,
        Details: '',
      });
    }
    const outcome = await this.deps.invoker.invoke(
      fn,
      {
        inputData: [{ name: fn.triggerName, data: { json: input ?? 'null' } }],
        triggerMetadata: { instanceId: { string: instanceId } },
      },
      { reason: `Activity for orchestration ${instanceId}` },
    );
    if (outcome.ok) {
      return historyEvent(HistoryEventType.TaskCompleted, now(), {
        TaskScheduledId: taskId,
        Result: typedToJson(outcome.returnValue),
      });
    }
    const message = outcome.error?.message ?? 'Activity failed';
    return historyEvent(HistoryEventType.TaskFailed, now(), {
      TaskScheduledId: taskId,
      Reason: `Activity function '${fn.name}' failed: ${message}`,
      Details: outcome.error?.stack ?? '',
    });
  }

  private onTimerFired(t: ArmedTimer): void {
    const actor = this.actors.get(t.instanceId);
    if (!actor || actor.record?.executionId !== t.executionId) return;
    this.enqueue(
      t.instanceId,
      {
        id: randomUUID(),
        kind: 'event',
        event: historyEvent(HistoryEventType.TimerFired, this.deps.clock.now(), {
          TimerId: t.timerId,
          FireAt: new Date(t.fireAtMs).toISOString(),
        }),
      },
      false,
    );
  }

  // ---- entities -------------------------------------------------------------------------------

  private async runEntityBatch(actor: Actor, batch: PendingItem[]): Promise<void> {
    const nowIso = new Date(this.deps.clock.now()).toISOString();
    const { name, key } = parseEntityId(actor.instanceId);
    const existing = actor.record;
    const record: InstanceRecord = existing
      ? { ...existing, processedRequestIds: [...existing.processedRequestIds] }
      : {
          instanceId: actor.instanceId,
          name,
          runtimeStatus: 'Running',
          input: undefined,
          output: undefined,
          customStatus: undefined,
          createdTime: nowIso,
          lastUpdatedTime: nowIso,
          executionId: '',
          parent: undefined,
          historyStartSeq: 0,
          nextSeq: 0,
          isEntity: true,
          entityState: undefined,
          entityExists: false,
          processedRequestIds: [],
          etag: undefined,
        };
    const seen = new Set(record.processedRequestIds);
    const ops = batch
      .map((p) => p.message)
      .filter(
        (m): m is Extract<InboxMessage, { kind: 'entityOp' }> => m.kind === 'entityOp' && !seen.has(m.id),
      );
    const outbox: OutboxMessage[] = [];
    if (ops.length > 0) {
      const fn = this.deps.registry.get(name);
      let results: { isError: boolean; result?: string }[] = [];
      let signals: { target: { name: string; key: string }; name: string; input?: string }[] = [];
      if (!fn || fn.trigger.type.toLowerCase() !== TRIGGER.entity) {
        results = ops.map(() => ({
          isError: true,
          result: JSON.stringify({ message: `No entity function named '${name}'` }),
        }));
      } else {
        const payload = {
          self: { name, key },
          exists: record.entityExists,
          state: record.entityState,
          batch: ops.map((o) => ({ id: o.id, name: o.operation, signal: o.signal, input: o.input })),
        };
        const outcome = await this.deps.invoker.invoke(
          fn,
          { inputData: [{ name: fn.triggerName, data: { string: JSON.stringify(payload) } }] },
          { reason: `Entity operation batch (${ops.length})` },
        );
        const state = outcome.ok
          ? (parseTyped(outcome.returnValue) as {
              entityExists: boolean;
              entityState?: string;
              results: { isError: boolean; result?: string }[];
              signals: { target: { name: string; key: string }; name: string; input?: string }[];
            })
          : undefined;
        if (state) {
          record.entityExists = state.entityExists;
          record.entityState = state.entityState;
          results = state.results;
          signals = state.signals;
        } else {
          const message = outcome.error?.message ?? 'Entity function failed';
          results = ops.map(() => ({ isError: true, result: JSON.stringify({ message }) }));
        }
      }
      ops.forEach((op, i) => {
        if (op.signal || !op.parentInstanceId) return;
        const r = results[i] ?? { isError: false };
        const response: { result?: string; exceptionType?: string } = {};
        if (r.result !== undefined) response.result = r.result;
        if (r.isError) response.exceptionType = 'Error';
        outbox.push({
          target: op.parentInstanceId,
          message: {
            id: `${op.id}|response`,
            kind: 'event',
            event: historyEvent(HistoryEventType.EventRaised, this.deps.clock.now(), {
              Name: op.id,
              Input: JSON.stringify(response),
              MessageId: `${op.id}|response`,
            }),
          },
        });
      });
      for (const s of signals) {
        outbox.push({
          target: `@${s.target.name.toLowerCase()}@${s.target.key}`,
          message: {
            id: randomUUID(),
            kind: 'entityOp',
            operation: s.name,
            input: s.input === '' ? undefined : s.input,
            signal: true,
            parentInstanceId: undefined,
          },
        });
      }
      record.processedRequestIds = [...record.processedRequestIds, ...ops.map((o) => o.id)].slice(
        -ENTITY_DEDUP_WINDOW,
      );
      record.lastUpdatedTime = nowIso;
    }
    const consumed = persistedIds(batch);
    const outboxRow = outbox.length > 0 ? { seq: record.nextSeq, messages: outbox } : undefined;
    if (outboxRow) record.nextSeq++;
    record.etag = await this.deps.store.commit(actor.instanceId, {
      record,
      isNew: !existing?.etag,
      appendHistory: undefined,
      consumedInbox: consumed,
      outbox: outboxRow,
      inboxInsert: [],
    });
    actor.record = record;
    if (outboxRow) this.deliverOutbox(actor.instanceId, outboxRow.seq, outboxRow.messages);
  }
}

export class FunctionNotFoundError extends Error {
  readonly code = 'DURABLE.FUNCTION_NOT_FOUND';
}

export function parseEntityId(instanceId: string): { name: string; key: string } {
  const at = instanceId.indexOf('@', 1);
  return { name: instanceId.slice(1, at), key: instanceId.slice(at + 1) };
}

export function entityInstanceId(name: string, key: string): string {
  return `@${name.toLowerCase()}@${key}`;
}

/** Inbox rows a batch consumed, once each (a redelivered message may be pending twice). */
function persistedIds(batch: PendingItem[]): string[] {
  return [...new Set(batch.filter((p) => p.persisted).map((p) => p.message.id))];
}

function takeBatch(actor: Actor): PendingItem[] {
  const batch: PendingItem[] = [];
  let persisted = 0;
  while (actor.pending.length > 0 && persisted < MAX_INBOX_PER_EPISODE) {
    const item = actor.pending.shift() as PendingItem;
    if (item.persisted) persisted++;
    batch.push(item);
  }
  return batch;
}

/** Events that give the orchestrator something new to react to. */
function isReplayTrigger(e: HistoryEvent): boolean {
  return e.EventType !== HistoryEventType.ExecutionSuspended;
}

function played(e: HistoryEvent): HistoryEvent {
  return e.IsPlayed ? e : { ...e, IsPlayed: true };
}

function parseTyped(data: RpcTypedData | null | undefined): unknown {
  if (!data) return undefined;
  if (typeof data.json === 'string') return JSON.parse(data.json);
  if (typeof data.string === 'string') {
    try {
      return JSON.parse(data.string);
    } catch {
      return data.string;
    }
  }
  if (typeof data.int === 'number') return data.int;
  if (typeof data.double === 'number') return data.double;
  return undefined;
}

/** An activity's return value as the JSON text a TaskCompleted carries. */
export function typedToJson(data: RpcTypedData | null | undefined): string {
  if (!data) return 'null';
  if (typeof data.json === 'string') return data.json;
  if (typeof data.string === 'string') return JSON.stringify(data.string);
  if (typeof data.int === 'number') return String(data.int);
  if (typeof data.double === 'number') return String(data.double);
  if (data.bytes) return JSON.stringify(Buffer.from(data.bytes).toString('base64'));
  return 'null';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export type { RegisteredFunction };
