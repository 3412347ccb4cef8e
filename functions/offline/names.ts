// Every durable function name and event name of offline seeding, in one place (STYLE §9).
export const OFFLINE_FUNCTIONS = {
  orchestrator: 'offlineBackupOrchestrator',
  loadState: 'offlineLoadState',
  recordState: 'offlineRecordState',
  pollImport: 'offlinePollImportJob',
  nextScheduledBackup: 'offlineNextScheduledBackup',
  copyUnit: 'offlineCopyImportUnit',
  commit: 'offlineCommit',
  cleanImport: 'offlineCleanImport',
  expire: 'offlineExpire',
  fail: 'offlineFail',
  helperEvents: 'offlineHelperEvents',
} as const;

/** Raised by the API when a fact the orchestration waits for changed (drives prepared, shipping entered). */
export const WAKE_EVENT = 'OfflineWake';
