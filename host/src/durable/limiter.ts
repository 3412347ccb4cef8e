// A counting semaphore: at most `limit` tasks run at once, the rest wait in FIFO order.
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      const next = this.waiting.shift();
      if (next) next();
      else if (this.active === 0) {
        const idle = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of idle) w();
      }
    }
  }

  get busy(): number {
    return this.active + this.waiting.length;
  }

  /** Resolves when nothing is running or waiting. */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
