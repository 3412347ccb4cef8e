// Stop protection of one item, in its turn: keep the data (ConfigureProtection job; points no longer
// expire) or delete it (DeleteBackupData job). Under the vault's soft delete (the default) "delete"
// makes the item SoftDeleted: its points stay until the retention pass purges them after the period.
// Otherwise the points go, their data is collected by the next retention pass, and the item leaves.
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

export interface StopProtectionInput extends ItemRef {
  readonly jobId: string;
  readonly deleteData: boolean;
}

export function* stopProtectionOrchestrator(context: OrchestrationContext): Step<OperationResult> {
  const input = context.df.getInput<StopProtectionInput>();
  const job = { sub: input.sub, vault: input.vault, jobId: input.jobId };
  const operation = input.deleteData ? 'DeleteBackupData' : 'ConfigureProtection';
  return yield* runItemOperation(context, input, job, operation, function* () {
    const r = (yield context.df.callActivityWithRetry(
      input.deleteData ? ACTIVITIES.deleteBackupData : ACTIVITIES.stopProtection,
      ACTIVITY_RETRY,
      { ...input, nowIso: nowIso(context) },
    )) as Outcome<Record<string, string | number | boolean>>;
    if (!r.ok) return { ok: false, error: jobError(r.code, r.message) };
    // Under soft delete the data is kept until `purgeAfter` (the item is SoftDeleted).
    return {
      ok: true,
      extendedInfo: { ...r.value, retainedData: !input.deleteData || r.value.softDeleted === true },
    };
  });
}
