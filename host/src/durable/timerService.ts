// Durable timers, fired on the host's controllable clock. Timers are not stored separately: each is a
// TimerCreated event without a TimerFired in some instance's history, and recovery re-arms them.
import type { Clock } from '../clock';

export interface ArmedTimer {
  instanceId: string;
  executionId: string;
  timerId: number;
  fireAtMs: number;
}

export class TimerService {
  private timers: ArmedTimer[] = [];
  private wake: AbortController | undefined;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onFire: (timer: ArmedTimer) => void,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.abort();
    await this.loop;
  }

  arm(timer: ArmedTimer): void {
    const key = (t: ArmedTimer): string => `${t.instanceId}|${t.executionId}|${t.timerId}`;
    if (this.timers.some((t) => key(t) === key(timer))) return;
    this.timers.push(timer);
    this.timers.sort((a, b) => a.fireAtMs - b.fireAtMs);
    if (this.timers[0] === timer) this.wake?.abort();
  }

  get pending(): number {
    return this.timers.length;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const next = this.timers[0];
      this.wake = new AbortController();
      try {
        // With nothing armed, nap in slices so arm() and stop() are noticed.
        await this.clock.sleepUntil(next ? next.fireAtMs : this.clock.now() + 60_000, this.wake.signal);
      } catch {
        continue; // woken: re-plan
      }
      const now = this.clock.now();
      while (this.timers[0] && this.timers[0].fireAtMs <= now) {
        const due = this.timers.shift() as ArmedTimer;
        this.onFire(due);
      }
    }
  }
}
