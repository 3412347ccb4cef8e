// A StateStore wrapper that "crashes" the caller at a chosen write (after kopia's blobtesting/faulty.go):
// the write either never reaches the store ('before') or is applied and then the caller sees an error
// ('after', a crash between the write and its acknowledgement). Nothing in the services catches
// InjectedCrash, so the operation stops exactly there, as a process that died would.
import type { StateStore } from '../../shared/state/stateStore';

export class InjectedCrash extends Error {
  readonly code = 'TEST.INJECTED_CRASH';
}

export interface FaultyStateStore extends StateStore {
  /** Writes (insert, update, upsert, delete, transact) seen since the store was made or last armed. */
  readonly writes: number;
  /** Crash at the `n`th write from now (1 = the next one). */
  crashAt(n: number, when: 'before' | 'after'): void;
  /** No more crashes; the write counter restarts. */
  disarm(): void;
}

export function faultyStateStore(inner: StateStore): FaultyStateStore {
  let writes = 0;
  let fault: { at: number; when: 'before' | 'after' } | undefined;
  const write = async <R>(what: string, run: () => Promise<R>): Promise<R> => {
    writes += 1;
    if (fault?.at !== writes) return run();
    const { when } = fault;
    fault = undefined;
    if (when === 'after') await run();
    throw new InjectedCrash(`injected crash ${when} write ${writes} (${what})`);
  };
  return {
    get writes() {
      return writes;
    },
    crashAt(n, when) {
      writes = 0;
      fault = { at: n, when };
    },
    disarm() {
      writes = 0;
      fault = undefined;
    },
    get: (table, pk, rk) => inner.get(table, pk, rk),
    query: (table, pk, options) => inner.query(table, pk, options),
    insert: (table, pk, rk, value) => write(`insert ${rk}`, () => inner.insert(table, pk, rk, value)),
    update: (table, pk, rk, value, etag) =>
      write(`update ${rk}`, () => inner.update(table, pk, rk, value, etag)),
    upsert: (table, pk, rk, value) => write(`upsert ${rk}`, () => inner.upsert(table, pk, rk, value)),
    delete: (table, pk, rk, etag) => write(`delete ${rk}`, () => inner.delete(table, pk, rk, etag)),
    transact: (table, pk, ops) =>
      write(`transaction of ${ops.length} on ${ops[0]?.rowKey ?? ''}`, () => inner.transact(table, pk, ops)),
  };
}
