// Where durable state lives. Each orchestration or entity instance is one partition holding its
// state row, its history (one row per episode), its inbox (messages not yet applied) and its outbox
// (messages to other instances not yet delivered). An episode commits all of them in ONE transaction,
// so a crash leaves either the whole episode or none of it. Layout: docs/local-host.md.
import type { HistoryEvent } from './history';

export type RuntimeStatus =
  'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Terminated' | 'Suspended';

export const TERMINAL_STATUSES: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Terminated'];

export function isTerminal(status: RuntimeStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export interface ParentRef {
  instanceId: string;
  taskScheduledId: number;
}

export interface InstanceRecord {
  instanceId: string;
  name: string;
  runtimeStatus: RuntimeStatus;
  /** JSON text, as the orchestrator received it. */
  input: string | undefined;
  output: string | undefined;
  customStatus: string | undefined;
  createdTime: string;
  lastUpdatedTime: string;
  executionId: string;
  parent: ParentRef | undefined;
  /** First history sequence number of the current execution (continueAsNew starts a new one). */
  historyStartSeq: number;
  /** Next history row sequence number. */
  nextSeq: number;
  isEntity: boolean;
  /** Entities only: JSON text of the state, and whether it exists. */
  entityState: string | undefined;
  entityExists: boolean;
  /** Entities only: recent request ids, so a redelivered operation is applied once. */
  processedRequestIds: string[];
  etag: string | undefined;
}

/** A message in an instance's inbox. `id` is unique; delivering it twice is harmless. */
export type InboxMessage =
  | { id: string; kind: 'event'; event: HistoryEvent }
  | {
      id: string;
      kind: 'start';
      event: HistoryEvent;
      name: string;
      input: string | undefined;
      parent: ParentRef | undefined;
    }
  | { id: string; kind: 'terminate'; reason: string }
  | { id: string; kind: 'suspend' | 'resume'; reason: string }
  | {
      id: string;
      kind: 'entityOp';
      operation: string;
      input: string | undefined;
      signal: boolean;
      /** The orchestration waiting for the answer (calls only). */
      parentInstanceId: string | undefined;
      /** Signals scheduled for later (signalEntity with a time), ISO. */
      scheduledTime?: string;
    };

export interface OutboxMessage {
  target: string;
  message: InboxMessage;
}

export interface HistoryRow {
  seq: number;
  events: HistoryEvent[];
}

export interface PartitionSnapshot {
  record: InstanceRecord | undefined;
  /** Rows of the current execution only, in order. */
  history: HistoryRow[];
  inbox: InboxMessage[];
  outbox: { seq: number; messages: OutboxMessage[] }[];
}

export interface EpisodeCommit {
  record: InstanceRecord;
  /** Insert the record instead of updating it (etag-checked) when true. */
  isNew: boolean;
  appendHistory: HistoryRow | undefined;
  consumedInbox: string[];
  outbox: { seq: number; messages: OutboxMessage[] } | undefined;
  /** Messages added to this instance's own inbox in the same transaction (startNew). */
  inboxInsert: InboxMessage[];
}

export interface InstanceQuery {
  createdTimeFrom?: string;
  createdTimeTo?: string;
  runtimeStatus?: RuntimeStatus[];
  instanceIdPrefix?: string;
  top?: number;
  continuationToken?: string;
}

export class ConcurrencyError extends Error {
  readonly code = 'DURABLE.CONCURRENCY';
}

export interface DurableStore {
  init(): Promise<void>;
  load(instanceId: string): Promise<PartitionSnapshot>;
  /** Atomic: state row, history row, inbox deletions and outbox row. Returns the new etag. */
  commit(instanceId: string, commit: EpisodeCommit): Promise<string>;
  /** Appends to an instance's inbox (idempotent by message id). */
  deliver(target: string, message: InboxMessage): Promise<void>;
  deleteOutbox(instanceId: string, seq: number): Promise<void>;
  /** Deletes inbox rows that were read but had no effect (e.g. messages for an unknown instance). */
  consumeOnly(instanceId: string, messageIds: string[]): Promise<void>;
  /** Removes history rows of earlier executions (after continueAsNew or a restart of a finished id). */
  deleteHistoryBefore(instanceId: string, seq: number): Promise<void>;
  getRecord(instanceId: string): Promise<InstanceRecord | undefined>;
  queryInstances(
    query: InstanceQuery,
  ): Promise<{ records: InstanceRecord[]; continuationToken: string | undefined }>;
  /** Entities whose instance id starts with `prefix` (`@name@`). */
  queryEntities(
    prefix: string,
    continuationToken?: string,
  ): Promise<{ records: InstanceRecord[]; continuationToken: string | undefined }>;
  /** Instances that need attention at startup: inbox or outbox rows, or Running/Pending status. */
  findInstancesToResume(): Promise<string[]>;
  /** Deletes the whole partition. Returns false if there was nothing. */
  purge(instanceId: string): Promise<boolean>;
}
