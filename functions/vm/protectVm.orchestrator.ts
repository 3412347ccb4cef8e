// Configure protection of one registered item with one policy (or resume a stopped one), as a
// ConfigureProtection job in the item's turn. The item shows "Protected (initial backup pending)" until
// its first backup; from now on the scheduler starts its backups.
import type { OrchestrationContext } from 'durable-functions';
import { jobError, type Outcome } from '../../shared/vm/vmErrors';
import type { ItemRef } from '../../shared/vm/vmWorkflowTypes';
import { ACTIVITIES } from './names';
import {
  ACTIVITY_RETRY,
  nowIso,
  runItemOperation,
  type OperationResult,
  type Step,
} from './orchestrationSteps';

export interface ProtectInput extends ItemRef {
  readonly jobId: string;
  readonly policyName: string;
}

export function* protectVmOrchestrator(context: OrchestrationContext): Step<OperationResult> {
  const input = context.df.getInput<ProtectInput>();
  const job = { sub: input.sub, vault: input.vault, jobId: input.jobId };
  return yield* runItemOperation(context, input, job, 'ConfigureProtection', function* () {
    const r = (yield context.df.callActivityWithRetry(ACTIVITIES.configureProtection, ACTIVITY_RETRY, {
      ...input,
      nowIso: nowIso(context),
    })) as Outcome<{ protectionState: string }>;
    if (!r.ok) return { ok: false, error: jobError(r.code, r.message) };
    return {
      ok: true,
      extendedInfo: { policyName: input.policyName, protectionState: r.value.protectionState },
    };
  });
}
