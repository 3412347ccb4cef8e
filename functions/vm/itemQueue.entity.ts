// The per-item queue as a durable entity (one per item, key = itemKey(sub, vault, item)). The logic is
// shared/vm/itemQueue.ts; this edge decodes the operation and stores the state.
import type { EntityContext } from 'durable-functions';
import {
  EMPTY_QUEUE,
  enqueue,
  release,
  tryAcquire,
  type ItemQueueState,
  type QueueEntry,
} from '../../shared/vm/itemQueue';
import { ITEM_QUEUE_OPS } from './names';

export function itemQueueEntity(context: EntityContext<ItemQueueState>): void {
  const state = context.df.getState(() => EMPTY_QUEUE) ?? EMPTY_QUEUE;
  switch (context.df.operationName) {
    case ITEM_QUEUE_OPS.enqueue: {
      const r = enqueue(state, context.df.getInput<QueueEntry>() as QueueEntry);
      context.df.setState(r.state);
      context.df.return(r.result);
      return;
    }
    case ITEM_QUEUE_OPS.tryAcquire: {
      const r = tryAcquire(state, context.df.getInput<QueueEntry>() as QueueEntry);
      context.df.setState(r.state);
      context.df.return(r.result);
      return;
    }
    case ITEM_QUEUE_OPS.release: {
      const input = context.df.getInput<{ instanceId: string }>();
      const r = release(state, input?.instanceId ?? '');
      context.df.setState(r.state);
      context.df.return(r.result);
      return;
    }
    default:
      // Reading the queue (the API's "what is running on this item") needs no operation: readEntityState.
      context.df.return(state);
  }
}
