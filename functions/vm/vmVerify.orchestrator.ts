// One verify run over every vault with VM data (reliability.md row 6; docs/verify.md): per vault, a
// Verify job whose id, sample and seed come from the vault and the day (shared/vm/vaultVerify.ts
// verifyPlan), then ONE activity that checks the vault. It holds no item's turn: verify only reads,
// and its false-alarm guard absorbs what concurrent backups and retention change under it.
// Input: none from the timer; `{ full: true, runId }` for an on-demand full verify (its own job).
import type { OrchestrationContext } from 'durable-functions';
import { verifyPlan, type VerifyFindings } from '../../shared/vm/vaultVerify';
import { jobError, type Outcome } from '../../shared/vm/vmErrors';
import { ACTIVITIES } from './names';
import { ACTIVITY_RETRY, failureMessage, finishJob, type Step } from './orchestrationSteps';

export interface VerifyRunInput {
  /** Read every pack, whatever the day. */
  readonly full?: boolean;
  /** Names an on-demand run: its jobs and sample differ from the scheduled run of the same day. */
  readonly runId?: string;
}

export interface VaultVerifyResult {
  readonly sub: string;
  readonly vault: string;
  readonly jobId: string;
  readonly outcome: 'Completed' | 'Failed' | 'AlreadyVerified' | 'Error';
  /** Why the job could not be written (Error), for the instance's output. */
  readonly error?: string;
}

export function* vmVerifyOrchestrator(context: OrchestrationContext): Step<VaultVerifyResult[]> {
  const input = context.df.getInput<VerifyRunInput | undefined>() ?? {};
  const at = context.df.currentUtcDateTime;
  // The vaults retention visits: every vault with protected VMs or data still to collect.
  const vaults = (yield context.df.callActivityWithRetry(ACTIVITIES.retentionVaults, ACTIVITY_RETRY, {})) as {
    sub: string;
    vault: string;
  }[];
  const results: VaultVerifyResult[] = [];
  for (const v of vaults) {
    const plan = verifyPlan(v.sub, v.vault, at, {
      ...(input.full === true ? { full: true } : {}),
      ...(input.runId !== undefined ? { runId: input.runId } : {}),
    });
    const job = { ...v, jobId: plan.jobId };
    try {
      const started = (yield context.df.callActivityWithRetry(ACTIVITIES.verifyJobStart, ACTIVITY_RETRY, {
        ...job,
        durableInstanceId: context.df.instanceId,
      })) as { ended: boolean };
      if (started.ended) {
        results.push({ ...job, outcome: 'AlreadyVerified' });
        continue;
      }
      let status: 'Completed' | 'Failed';
      let error: { code: string; message: string } | undefined;
      let info: VerifyFindings['info'] = { sample: plan.sample, seed: plan.seed };
      try {
        const r = (yield context.df.callActivityWithRetry(ACTIVITIES.verifyVault, ACTIVITY_RETRY, {
          ...v,
          readData: plan.readData,
          seed: plan.seed,
          sample: plan.sample,
        })) as Outcome<VerifyFindings>;
        if (!r.ok) {
          status = 'Failed';
          error = jobError(r.code, r.message);
        } else {
          info = r.value.info;
          status = r.value.damaged ? 'Failed' : 'Completed';
          if (r.value.damaged) error = jobError('VerifyFoundDamage', r.value.detail ?? 'damage found');
        }
      } catch (err) {
        status = 'Failed';
        error = jobError('InternalError', failureMessage(err));
      }
      yield* finishJob(context, job, { status, extendedInfo: info, ...(error ? { error } : {}) });
      results.push({ ...job, outcome: status });
    } catch (err) {
      // The job could not be written (the vault was deleted meanwhile, say): the other vaults still run.
      results.push({ ...job, outcome: 'Error', error: failureMessage(err) });
    }
  }
  return results;
}
