// Port: where a timer's schedule status lives between host runs, so a restart can tell whether an
// occurrence was missed (IsPastDue) and never fires one occurrence twice. Mirrors the WebJobs
// ScheduleMonitor; `checkPastDue` is its CheckPastDueAsync, kept pure.
import { nextScheduledTime, type TimerSchedule } from './timerSchedule';

export interface ScheduleStatus {
  /** The occurrence that last fired (undefined: never fired). */
  readonly last: number | undefined;
  /** The occurrence expected next. */
  readonly next: number;
  readonly lastUpdated: number;
}

export interface ScheduleMonitor {
  readonly location: string;
  getStatus(functionName: string): Promise<ScheduleStatus | undefined>;
  updateStatus(functionName: string, status: ScheduleStatus): Promise<void>;
}

/** .NET writes DateTime.MinValue for "never"; the library passes it to the function as a string. */
export const NEVER = '0001-01-01T00:00:00';

function iso(ms: number | undefined): string {
  return ms === undefined ? NEVER : new Date(ms).toISOString();
}

function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  // Anything at or before year 1 is DateTime.MinValue: "never".
  return Number.isNaN(t) || t < Date.UTC(2, 0, 1) ? undefined : t;
}

/** The stored and invocation form: `{"Last","Next","LastUpdated"}`, as the real host writes it. */
export function scheduleStatusToJson(status: ScheduleStatus): {
  Last: string;
  Next: string;
  LastUpdated: string;
} {
  return { Last: iso(status.last), Next: iso(status.next), LastUpdated: iso(status.lastUpdated) };
}

export function scheduleStatusFromJson(text: string): ScheduleStatus | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const next = parseTime(r.Next);
  if (next === undefined) return undefined;
  return { last: parseTime(r.Last), next, lastUpdated: parseTime(r.LastUpdated) ?? next };
}

export interface PastDueCheck {
  readonly status: ScheduleStatus;
  /** True when `status` differs from what is stored and must be written. */
  readonly changed: boolean;
  /** How long ago the recorded next occurrence passed (0 if it has not). */
  readonly pastDueMs: number;
}

export function checkPastDue(
  schedule: TimerSchedule,
  stored: ScheduleStatus | undefined,
  now: number,
): PastDueCheck {
  if (!stored) {
    return {
      status: { last: undefined, next: nextScheduledTime(schedule, now), lastUpdated: now },
      changed: true,
      pastDueMs: 0,
    };
  }
  // 'Next' was computed from 'Last' (or from when the status was written); recompute it to notice
  // a schedule that changed since, as the real host does.
  const basis = stored.last ?? stored.lastUpdated;
  const expectedNext = nextScheduledTime(schedule, basis);
  const status = stored.next === expectedNext ? stored : { ...stored, next: expectedNext, lastUpdated: now };
  return { status, changed: status !== stored, pastDueMs: Math.max(0, now - status.next) };
}

/** In-memory statuses: tests, and timers that are not monitored. */
export class MemoryScheduleMonitor implements ScheduleMonitor {
  readonly location = 'memory';
  private readonly statuses = new Map<string, ScheduleStatus>();

  getStatus(functionName: string): Promise<ScheduleStatus | undefined> {
    return Promise.resolve(this.statuses.get(functionName));
  }

  updateStatus(functionName: string, status: ScheduleStatus): Promise<void> {
    this.statuses.set(functionName, status);
    return Promise.resolve();
  }
}
