// One retention pass over every vault with VM data: for each vault, take the turn of every item
// (re-listing until no new item appeared, so no backup or restore of the vault runs), expire the
// points the policies let go, garbage-collect the data plane, and give the turns back.
import type { OrchestrationContext } from 'durable-functions';
import type { ExpireResult } from '../../shared/vm/retention';
import type { RetentionRunDoc } from '../../shared/vm/vmStateStore';
import { ACTIVITIES } from './names';
import {
  ACTIVITY_RETRY,
  acquireTurn,
  failureMessage,
  nowIso,
  queueEntry,
  releaseTurn,
  type Step,
} from './orchestrationSteps';

export interface VaultRetentionResult {
  readonly sub: string;
  readonly vault: string;
  readonly run?: RetentionRunDoc;
  readonly error?: string;
}

export function* vmRetentionOrchestrator(context: OrchestrationContext): Step<VaultRetentionResult[]> {
  const now = nowIso(context);
  const vaults = (yield context.df.callActivityWithRetry(ACTIVITIES.retentionVaults, ACTIVITY_RETRY, {})) as {
    sub: string;
    vault: string;
  }[];
  const results: VaultRetentionResult[] = [];
  for (const v of vaults) {
    const held: string[] = [];
    try {
      for (;;) {
        const items = (yield context.df.callActivityWithRetry(
          ACTIVITIES.vaultItems,
          ACTIVITY_RETRY,
          v,
        )) as string[];
        const todo = items.filter((i) => !held.some((h) => h.toLowerCase() === i.toLowerCase()));
        if (todo.length === 0) break;
        for (const item of todo) {
          yield* acquireTurn(context, { ...v, item }, queueEntry(context, 'Retention'));
          held.push(item);
        }
      }
      const expired = (yield context.df.callActivityWithRetry(ACTIVITIES.expirePoints, ACTIVITY_RETRY, {
        ...v,
        nowIso: now,
      })) as ExpireResult;
      const run = (yield context.df.callActivityWithRetry(ACTIVITIES.collectGarbage, ACTIVITY_RETRY, {
        ...v,
        nowIso: now,
        pointsDeleted: expired.pointsDeleted,
      })) as RetentionRunDoc;
      results.push({ ...v, run });
    } catch (err) {
      // One vault's failure (damage found by prune, say) must not stop the others; it is retried next pass.
      results.push({ ...v, error: failureMessage(err) });
    } finally {
      for (const item of held) yield* releaseTurn(context, { ...v, item });
    }
  }
  return results;
}
