/** Runs `fn` and returns its result as a promise; a synchronous throw becomes a rejection. */
export function promiseOf<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn()));
}
