// Per-item serialisation, pure. Every operation on a protected item (register, protect, back up,
// restore, stop protection, retention's garbage collection) takes its turn in the item's queue, kept
// by a durable entity (functions/vm/itemQueue.entity.ts). The head of the queue holds the turn; the
// others wait, and their jobs show "Queued". The host supports no entity locks (critical sections), so
// this is a FIFO the operations join and leave themselves; entity operations are applied one at a
// time and exactly once, which is all the mutual exclusion the queue needs.

export interface QueueEntry {
  /** The orchestration instance that holds or waits for the turn. */
  readonly instanceId: string;
  readonly operation: string;
  readonly jobId?: string;
  /** Orchestration time it joined. */
  readonly since: string;
}

export interface ItemQueueState {
  readonly entries: readonly QueueEntry[];
}

export const EMPTY_QUEUE: ItemQueueState = { entries: [] };

export interface EnqueueResult {
  /** 0: the caller holds the turn. */
  readonly position: number;
  readonly head: QueueEntry;
}

/** Joins the queue (idempotent: a second enqueue of the same instance keeps its place). */
export function enqueue(
  state: ItemQueueState,
  entry: QueueEntry,
): { state: ItemQueueState; result: EnqueueResult } {
  const at = state.entries.findIndex((e) => e.instanceId === entry.instanceId);
  const entries = at >= 0 ? state.entries : [...state.entries, entry];
  const position = at >= 0 ? at : entries.length - 1;
  return { state: { entries }, result: { position, head: entries[0] ?? entry } };
}

export type TryAcquireResult =
  { readonly acquired: true } | { readonly acquired: false; readonly holder: QueueEntry };

/** Takes the turn only if nobody holds or waits for it (register refuses instead of queueing). */
export function tryAcquire(
  state: ItemQueueState,
  entry: QueueEntry,
): { state: ItemQueueState; result: TryAcquireResult } {
  const head = state.entries[0];
  if (head === undefined) return { state: { entries: [entry] }, result: { acquired: true } };
  if (head.instanceId === entry.instanceId) return { state, result: { acquired: true } };
  return { state, result: { acquired: false, holder: head } };
}

export interface ReleaseResult {
  /** The new head, if the released entry held the turn and someone waits; it must be woken. */
  readonly next: QueueEntry | null;
}

/** Leaves the queue (idempotent). Releasing a waiting entry (not the head) just removes it. */
export function release(
  state: ItemQueueState,
  instanceId: string,
): { state: ItemQueueState; result: ReleaseResult } {
  const at = state.entries.findIndex((e) => e.instanceId === instanceId);
  if (at < 0) return { state, result: { next: null } };
  const entries = state.entries.filter((_, i) => i !== at);
  return { state: { entries }, result: { next: at === 0 ? (entries[0] ?? null) : null } };
}
