// The host's controllable clock. Durable timers, timer triggers and orchestrations' currentUtcDateTime
// all read it, so tests and demos can fast-forward weeks in seconds without changing app code:
// `POST /admin/host/clock {"advanceMs": N}` or STRONGBOX_CLOCK_OFFSET_MS at startup.
export interface Clock {
  /** Milliseconds since the epoch, on the host's (possibly fast-forwarded) timeline. */
  now(): number;
  /** Resolves once now() >= atMs, waking early when the clock is advanced. Rejects if aborted. */
  sleepUntil(atMs: number, signal?: AbortSignal): Promise<void>;
  /** Moves the timeline forward (never backward). */
  advance(ms: number): void;
  readonly offsetMs: number;
}

/** Re-check interval for waiters, so a long sleep never relies on one huge setTimeout. */
const MAX_SLEEP_SLICE_MS = 1000;

export class ControllableClock implements Clock {
  private offset: number;
  private readonly waiters = new Set<() => void>();

  constructor(
    initialOffsetMs = 0,
    private readonly realNow: () => number = Date.now,
  ) {
    this.offset = initialOffsetMs;
  }

  get offsetMs(): number {
    return this.offset;
  }

  now(): number {
    return this.realNow() + this.offset;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`advance needs a non-negative number of ms, got ${ms}`);
    this.offset += ms;
    for (const wake of [...this.waiters]) wake();
  }

  sleepUntil(atMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError());
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        cleanup();
        reject(abortError());
      };
      const check = (): void => {
        if (timer) clearTimeout(timer);
        const remaining = atMs - this.now();
        if (remaining <= 0) {
          cleanup();
          resolve();
          return;
        }
        timer = setTimeout(check, Math.min(remaining, MAX_SLEEP_SLICE_MS));
      };
      this.waiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }
}

function abortError(): Error {
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  return e;
}
