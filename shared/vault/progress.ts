// Progress reporting for long operations: bytes done and total, rate and ETA, throttled so the
// callback costs nothing measurable.

export interface Progress {
  bytesDone: number;
  bytesTotal: number;
  /** Average since the start. */
  bytesPerSecond: number;
  /** Undefined until a rate is known. */
  etaSeconds: number | undefined;
}

export type ProgressCallback = (p: Progress) => void;

/** Report at most this often (plus once at the end). */
export const PROGRESS_INTERVAL_MS = 250;

export class ProgressMeter {
  private done = 0;
  private readonly started: number;
  private lastReport = -Infinity;

  constructor(
    private readonly total: number,
    private readonly callback: ProgressCallback | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  add(bytes: number): void {
    this.done += bytes;
    if (!this.callback) return;
    const t = this.now();
    if (t - this.lastReport >= PROGRESS_INTERVAL_MS) {
      this.lastReport = t;
      this.callback(this.snapshot(t));
    }
  }

  finish(): void {
    this.callback?.(this.snapshot(this.now()));
  }

  private snapshot(t: number): Progress {
    const seconds = Math.max((t - this.started) / 1000, 1e-6);
    const rate = this.done / seconds;
    return {
      bytesDone: this.done,
      bytesTotal: this.total,
      bytesPerSecond: rate,
      etaSeconds: rate > 0 ? Math.max(0, (this.total - this.done) / rate) : undefined,
    };
  }
}
