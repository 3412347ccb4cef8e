// Time inside activities. Orchestrations read the host's clock (`currentUtcDateTime`, which the local
// host can fast-forward) and pass it in; an activity continues it with real elapsed time, so the
// stamps it writes (pack ages, point times) are on the same timeline as schedules and retention.

/** A clock that reads `startIso` now and advances in real time from here. */
export function clockFrom(startIso: string): () => Date {
  const base = Date.parse(startIso);
  if (!Number.isFinite(base)) throw new RangeError(`not an ISO time: ${startIso}`);
  const startedReal = Date.now();
  return () => new Date(base + (Date.now() - startedReal));
}

/** Rejects with 'timeout' if `work` takes longer than `ms`; the work itself is not cancelled. */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
