// Progress of long steps: bytes, rate and ETA (issue 6). On a terminal, a cli-progress bar; otherwise
// (scripts, CI, logs) one line every PROGRESS_LINE_INTERVAL_MS on stderr, so stdout stays the result.
// Both end with one summary line: total bytes, elapsed time, average rate.
import * as cliProgress from 'cli-progress';

export const PROGRESS_LINE_INTERVAL_MS = 5000;

export interface ProgressSample {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly bytesPerSecond: number;
  readonly etaSeconds: number | undefined;
}

export interface ProgressReporter {
  update(p: ProgressSample): void;
  /** Hide the bar while a question is asked. */
  pause(): void;
  resume(): void;
  /** Ends the bar and prints the summary line (unless nothing happened). */
  stop(): void;
}

export function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u] ?? 'B'}`;
}

function eta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${s}s`;
}

export function progressReporter(
  label: string,
  io: { interactive: boolean; err(line: string): void },
  monotonicMs: () => number = () => performance.now(),
): ProgressReporter {
  const started = monotonicMs();
  let last: ProgressSample | undefined;
  const summary = () => {
    if (!last) return;
    const secs = Math.max((monotonicMs() - started) / 1000, 1e-3);
    io.err(`${label}: ${human(last.bytesDone)} in ${secs.toFixed(1)} s (${human(last.bytesDone / secs)}/s)`);
  };
  if (!io.interactive) {
    // The first line after one interval: a short step shows only its summary, and no rate is guessed
    // from the first few bytes.
    let lastLine = started;
    return {
      update(p) {
        last = p;
        const t = monotonicMs();
        if (t - lastLine < PROGRESS_LINE_INTERVAL_MS) return;
        lastLine = t;
        const pct = p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100;
        io.err(
          `${label}: ${human(p.bytesDone)} / ${human(p.bytesTotal)} (${pct}%), ${human(p.bytesPerSecond)}/s, ETA ${eta(p.etaSeconds)}`,
        );
      },
      pause: () => undefined,
      resume: () => undefined,
      stop: summary,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: ` ${label} {bar} {percentage}% | {done}/{size} | {rate}/s | ETA {etaText}`,
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  const payload = (p: ProgressSample) => ({
    done: human(p.bytesDone),
    size: human(p.bytesTotal),
    rate: human(p.bytesPerSecond),
    etaText: eta(p.etaSeconds),
  });
  return {
    update(p) {
      last = p;
      if (!running) {
        bar.start(Math.max(p.bytesTotal, 1), p.bytesDone, payload(p));
        running = true;
      }
      bar.setTotal(Math.max(p.bytesTotal, 1));
      bar.update(p.bytesDone, payload(p));
    },
    pause() {
      if (running) bar.stop();
      running = false;
    },
    resume() {
      if (last) this.update(last);
    },
    stop() {
      if (running) bar.stop();
      running = false;
      summary();
    },
  };
}
