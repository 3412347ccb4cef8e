// Runs one timer-triggered function on its schedule, on the host's controllable clock, so advancing
// the clock fires due occurrences at once. A stretch of missed occurrences fires once, with
// IsPastDue=true, and the next occurrence is computed from "now" (the real host's behaviour).
import type { Clock } from '../clock';
import type { InvocationRequest } from '../core/invoker';
import type { RegisteredFunction } from '../core/registry';
import type { Logger } from '../logger';
import {
  checkPastDue,
  scheduleStatusToJson,
  type ScheduleMonitor,
  type ScheduleStatus,
} from './scheduleMonitor';
import { nextScheduledTime, type TimerSchedule } from './timerSchedule';

/**
 * A wake-up this much later than the occurrence means the occurrence was missed (clock advanced,
 * process stalled), so the invocation reports IsPastDue=true. Normal wake-ups are a few ms late.
 */
export const PAST_DUE_TOLERANCE_MS = 1000;

export interface TimerTriggerOptions {
  readonly fn: RegisteredFunction;
  readonly schedule: TimerSchedule;
  readonly runOnStartup: boolean;
  /** Undefined when the schedule is not monitored (useMonitor false, or more often than once a minute). */
  readonly monitor: ScheduleMonitor | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Runs the function (and its output bindings). Failures are logged by the caller; timers do not retry. */
  readonly invoke: (request: InvocationRequest, reason: string) => Promise<unknown>;
}

/** The trigger payload, exactly as the Functions host sends it (the library camel-cases it). */
export function timerTriggerPayload(status: ScheduleStatus | undefined, isPastDue: boolean): string {
  return JSON.stringify({
    Schedule: { AdjustForDST: true },
    ScheduleStatus: status ? scheduleStatusToJson(status) : null,
    IsPastDue: isPastDue,
  });
}

export class TimerTrigger {
  private status: ScheduleStatus | undefined;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: TimerTriggerOptions) {}

  get functionName(): string {
    return this.options.fn.name;
  }

  /** The next occurrence (epoch ms), once started. */
  get nextOccurrence(): number | undefined {
    return this.status?.next;
  }

  /** Reads (or writes the first) schedule status, then runs the schedule in the background. */
  async start(): Promise<void> {
    const { clock, monitor, schedule, fn } = this.options;
    const now = clock.now();
    let pastDue = false;
    if (monitor) {
      const check = checkPastDue(schedule, await monitor.getStatus(fn.name), now);
      if (check.changed) await monitor.updateStatus(fn.name, check.status);
      this.status = check.status;
      pastDue = check.pastDueMs > 0;
    } else {
      this.status = { last: undefined, next: nextScheduledTime(schedule, now), lastUpdated: now };
    }
    this.loop = this.run(pastDue);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(pastDueAtStart: boolean): Promise<void> {
    const { clock, runOnStartup } = this.options;
    const signal = this.abort.signal;
    try {
      if (pastDueAtStart) await this.fire(true, this.status?.next);
      else if (runOnStartup) await this.fire(false, undefined);
      while (!signal.aborted) {
        const due = this.currentStatus().next;
        await clock.sleepUntil(due, signal);
        await this.fire(clock.now() - due > PAST_DUE_TOLERANCE_MS, due);
      }
    } catch (err) {
      if (signal.aborted) return;
      // Only schedule arithmetic can throw here; a dead timer must be loud, not silent.
      this.options.logger.error(
        `Timer '${this.functionName}' stopped: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private currentStatus(): ScheduleStatus {
    if (!this.status) throw new Error(`Timer '${this.functionName}' was not started`);
    return this.status;
  }

  private async fire(isPastDue: boolean, occurrence: number | undefined): Promise<void> {
    const { clock, monitor, schedule, fn, logger } = this.options;
    const firedAt = clock.now();
    const request: InvocationRequest = {
      inputData: [
        {
          name: fn.triggerName,
          data: { json: timerTriggerPayload(monitor ? this.status : undefined, isPastDue) },
        },
      ],
    };
    await this.options.invoke(request, `Timer fired at ${new Date(firedAt).toISOString()}`);
    const next: ScheduleStatus = {
      last: occurrence ?? firedAt,
      next: nextScheduledTime(schedule, firedAt),
      lastUpdated: clock.now(),
    };
    this.status = next;
    if (!monitor) return;
    try {
      await monitor.updateStatus(fn.name, next);
    } catch (err) {
      // The in-memory status still prevents a double fire in this process; a restart may fire
      // this occurrence again (at-least-once, as in Azure).
      logger.warn(
        `Timer '${fn.name}': could not save the schedule status to ${monitor.location}: ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
    }
  }
}
