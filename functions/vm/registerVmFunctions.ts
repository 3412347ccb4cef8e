// Registers the VM workflows' orchestrations, activities, the item-queue entity and the timers (issue 5).
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import type { AppContext } from '../appContext';
import { backupVmOrchestrator } from './backupVm.orchestrator';
import { discoverVmsOrchestrator } from './discoverVms.orchestrator';
import { itemQueueEntity } from './itemQueue.entity';
import { instanceFinishedActivity, wakeQueuedActivity } from './itemQueue.activity';
import {
  jobCancelRequestedActivity,
  jobEnsureActivity,
  jobFinishActivity,
  jobProgressActivity,
  jobRunningActivity,
} from './jobs.activity';
import {
  ACTIVITIES,
  ITEM_QUEUE_ENTITY,
  ORCHESTRATORS,
  RETENTION_CRON,
  RETENTION_INSTANCE_ID,
  SCHEDULER_CRON,
  SCHEDULER_INSTANCE_ID,
  TIMERS,
  VERIFY_CRON,
  VERIFY_INSTANCE_ID,
} from './names';
import { protectVmOrchestrator } from './protectVm.orchestrator';
import { registerVmOrchestrator } from './registerVm.orchestrator';
import { restoreVmOrchestrator } from './restoreVm.orchestrator';
import { stopProtectionOrchestrator } from './stopProtection.orchestrator';
import { initVmDeps } from './vmAppDeps';
import { vmRetentionOrchestrator } from './vmRetention.orchestrator';
import { vmSchedulerOrchestrator } from './vmScheduler.orchestrator';
import { vmVerifyOrchestrator } from './vmVerify.orchestrator';
import { startSingleton } from './vmTimers';
import { VM_ACTIVITIES } from './workflow.activity';

/** Orchestrator name -> generator; exported so a test can check every name is registered once. */
export const VM_ORCHESTRATIONS: Readonly<Record<string, df.OrchestrationHandler>> = {
  [ORCHESTRATORS.discover]: discoverVmsOrchestrator,
  [ORCHESTRATORS.register]: registerVmOrchestrator,
  [ORCHESTRATORS.protect]: protectVmOrchestrator,
  [ORCHESTRATORS.backup]: backupVmOrchestrator,
  [ORCHESTRATORS.restore]: restoreVmOrchestrator,
  [ORCHESTRATORS.stopProtection]: stopProtectionOrchestrator,
  [ORCHESTRATORS.scheduler]: vmSchedulerOrchestrator,
  [ORCHESTRATORS.retention]: vmRetentionOrchestrator,
  [ORCHESTRATORS.verify]: vmVerifyOrchestrator,
};

export function registerVmFunctions(ctx: AppContext): void {
  initVmDeps(ctx);
  for (const [name, handler] of Object.entries(VM_ORCHESTRATIONS)) df.app.orchestration(name, handler);
  df.app.entity(ITEM_QUEUE_ENTITY, itemQueueEntity);

  const client = [df.input.durableClient()];
  df.app.activity(ACTIVITIES.jobEnsure, { handler: jobEnsureActivity as df.ActivityHandler });
  df.app.activity(ACTIVITIES.jobRunning, { handler: jobRunningActivity as df.ActivityHandler });
  df.app.activity(ACTIVITIES.jobProgress, { handler: jobProgressActivity as df.ActivityHandler });
  df.app.activity(ACTIVITIES.jobFinish, { handler: jobFinishActivity as df.ActivityHandler });
  df.app.activity(ACTIVITIES.jobCancelRequested, {
    handler: jobCancelRequestedActivity as df.ActivityHandler,
  });
  df.app.activity(ACTIVITIES.wakeQueued, {
    handler: wakeQueuedActivity as df.ActivityHandler,
    extraInputs: client,
  });
  df.app.activity(ACTIVITIES.instanceFinished, {
    handler: instanceFinishedActivity as df.ActivityHandler,
    extraInputs: client,
  });
  for (const [name, a] of Object.entries(VM_ACTIVITIES)) {
    df.app.activity(name, {
      handler: a.handler as df.ActivityHandler,
      ...(a.durableClient ? { extraInputs: client } : {}),
    });
  }

  app.timer(TIMERS.scheduler, {
    schedule: SCHEDULER_CRON,
    extraInputs: client,
    handler: startSingleton(ORCHESTRATORS.scheduler, SCHEDULER_INSTANCE_ID),
  });
  app.timer(TIMERS.retention, {
    schedule: RETENTION_CRON,
    extraInputs: client,
    handler: startSingleton(ORCHESTRATORS.retention, RETENTION_INSTANCE_ID),
  });
  app.timer(TIMERS.verify, {
    schedule: VERIFY_CRON,
    extraInputs: client,
    handler: startSingleton(ORCHESTRATORS.verify, VERIFY_INSTANCE_ID),
  });
}
