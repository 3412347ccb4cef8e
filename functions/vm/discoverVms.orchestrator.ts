// Discovery of a vault's VMs, as a Discover job. Its instance id is the vault's
// (names.ts discoveryInstanceId), so the API refuses a second discovery while one runs.
import type { OrchestrationContext } from 'durable-functions';
import type { DiscoveryResult } from '../../shared/vm/discoverVms';
import { jobError, type Outcome } from '../../shared/vm/vmErrors';
import { ACTIVITIES } from './names';
import {
  ACTIVITY_RETRY,
  ensureJob,
  failureMessage,
  finishJob,
  nowIso,
  type OperationResult,
  type Step,
} from './orchestrationSteps';

export interface DiscoverInput {
  readonly sub: string;
  readonly vault: string;
  readonly jobId: string;
}

export function* discoverVmsOrchestrator(context: OrchestrationContext): Step<OperationResult> {
  const input = context.df.getInput<DiscoverInput>();
  const job = { sub: input.sub, vault: input.vault, jobId: input.jobId };
  yield* ensureJob(context, job, 'Discover', undefined, 'InProgress');
  let result: OperationResult;
  try {
    const r = (yield context.df.callActivityWithRetry(ACTIVITIES.discover, ACTIVITY_RETRY, {
      sub: input.sub,
      vault: input.vault,
      nowIso: nowIso(context),
    })) as Outcome<DiscoveryResult>;
    result = r.ok
      ? { ok: true, extendedInfo: { ...r.value } }
      : { ok: false, error: jobError(r.code, r.message) };
  } catch (err) {
    result = { ok: false, error: jobError('InternalError', failureMessage(err)) };
  }
  yield* finishJob(context, job, {
    status: result.ok ? 'Completed' : 'Failed',
    ...(result.error ? { error: result.error } : {}),
    ...(result.extendedInfo ? { extendedInfo: result.extendedInfo } : {}),
  });
  return result;
}
