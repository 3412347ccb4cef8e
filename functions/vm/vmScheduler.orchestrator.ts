// One scheduler tick: start the backups whose scheduled times have come (shared/vm/scheduler.ts has
// the exactly-once argument). An orchestration only so that "now" is the host's clock.
import type { OrchestrationContext } from 'durable-functions';
import type { SchedulerResult } from '../../shared/vm/scheduler';
import { ACTIVITIES } from './names';
import { ACTIVITY_RETRY, nowIso, type Step } from './orchestrationSteps';

export function* vmSchedulerOrchestrator(context: OrchestrationContext): Step<SchedulerResult> {
  return (yield context.df.callActivityWithRetry(ACTIVITIES.startDueBackups, ACTIVITY_RETRY, {
    nowIso: nowIso(context),
  })) as SchedulerResult;
}
