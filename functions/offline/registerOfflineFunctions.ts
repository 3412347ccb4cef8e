// Registers offline seeding's orchestration, activities and the helper-events queue trigger (issue 6).
// The API operations are in offlineRoutes.ts (registered with every other operation by functions/index.ts).
import * as df from 'durable-functions';
import type { AppContext } from '../appContext';
import { registerHelperEventsQueue } from './helperEvents.queue';
import { offlineBackupOrchestrator } from './offlineBackup.orchestrator';
import { registerOfflineActivities } from './offline.activities';
import { lazyOfflineDeps, setOfflineDeps } from './offlineDeps';
import { OFFLINE_FUNCTIONS } from './names';

export function registerOfflineFunctions(ctx: AppContext): void {
  const deps = lazyOfflineDeps(ctx);
  setOfflineDeps(deps);
  df.app.orchestration(OFFLINE_FUNCTIONS.orchestrator, offlineBackupOrchestrator);
  registerOfflineActivities(deps);
  registerHelperEventsQueue(deps);
}
