// The activities of the offline backup orchestration: each decodes its input and calls one step of
// shared/offline/offlineSteps.ts (the steps are idempotent; activities run at least once).
import * as df from 'durable-functions';
import type { CopyUnit } from '../../shared/offline/importCopy';
import type { WorkflowPatch } from '../../shared/offline/offlineSteps';
import type { OfflineDeps } from './offlineDeps';
import { OFFLINE_FUNCTIONS as F } from './names';

interface Named {
  readonly name: string;
}
interface Timed extends Named {
  readonly now: string;
}

export function registerOfflineActivities(deps: () => OfflineDeps): void {
  const steps = () => deps().steps;
  df.app.activity(F.loadState, { handler: (i: Named) => steps().loadState(i.name) });
  df.app.activity(F.recordState, {
    handler: (i: Timed & { patch: WorkflowPatch }) => steps().recordState(i.name, i.patch, new Date(i.now)),
  });
  df.app.activity(F.pollImport, { handler: (i: Timed) => steps().pollImport(i.name, new Date(i.now)) });
  df.app.activity(F.nextScheduledBackup, {
    handler: (i: Timed) => steps().nextScheduledBackup(i.name, new Date(i.now)),
  });
  df.app.activity(F.copyUnit, {
    handler: (i: Named & { unit: CopyUnit }) => steps().copyUnit(i.name, i.unit),
  });
  df.app.activity(F.commit, { handler: (i: Timed) => steps().commit(i.name, new Date(i.now)) });
  df.app.activity(F.cleanImport, { handler: (i: Named) => steps().cleanImport(i.name) });
  df.app.activity(F.expire, {
    handler: (i: Timed & { reason: string }) => steps().expire(i.name, i.reason, new Date(i.now)),
  });
  df.app.activity(F.fail, {
    handler: (i: Timed & { code: string; message: string }) =>
      steps().fail(i.name, i.code, i.message, new Date(i.now)),
  });
}
