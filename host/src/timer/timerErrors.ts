// Timer trigger configuration errors. They fail host startup, naming the function.
export type TimerErrorCode =
  | 'TIMER.SCHEDULE_INVALID'
  | 'TIMER.SCHEDULE_NEVER_FIRES'
  | 'TIMER.TIME_ZONE_INVALID'
  | 'TIMER.SETTING_MISSING';

export class TimerScheduleError extends Error {
  constructor(
    readonly code: TimerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TimerScheduleError';
  }
}
