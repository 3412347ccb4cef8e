// A BlobStore wrapper that retries BLOB.TRANSIENT failures with bounded, jittered exponential
// backoff. Only TRANSIENT is retried (isTransientBlobError): every other code is an answer.
//
// Caveat callers must know: a write whose answer was lost (TRANSIENT after the service applied it)
// is retried like any other, so a retried `ifNoneMatch` put can meet its own first attempt and
// report ALREADY_EXISTS, and a retried `ifMatch` put can report PRECONDITION_FAILED. With
// content-addressed keys, ALREADY_EXISTS means "the bytes are there"; for other keys, stat and compare.
// Writers are not retried here (a failed writer must be restarted from its source); the Azure SDK
// already retries each staged block, which is idempotent.
import { isTransientBlobError } from './blobErrors';
import { readRangeInto } from './readRangeInto';
import type {
  BlobContent,
  BlobListEntry,
  BlobOp,
  BlobStat,
  BlobStore,
  BlobWriter,
  DeleteOptions,
  DeleteResult,
  PutOptions,
  PutResult,
  WriterOptions,
} from './blobStore';

export interface RetryPolicy {
  /** Total tries, including the first. 5 matches the activity retry budget in reliability.md row 21. */
  maxAttempts: number;
  /** Backoff before the 2nd try; doubles each time. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BLOB_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
};

export interface RetryEvent {
  op: BlobOp;
  key: string;
  /** The try that failed (1-based). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface RetryingBlobStoreOptions extends Partial<RetryPolicy> {
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** [0, 1); injectable for deterministic jitter. */
  random?: () => number;
  /** Called before each backoff, e.g. to log or count retries. */
  onRetry?: (event: RetryEvent) => void;
}

export class RetryingBlobStore implements BlobStore {
  private readonly policy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;

  constructor(
    private readonly inner: BlobStore,
    opts: RetryingBlobStoreOptions = {},
  ) {
    this.policy = {
      maxAttempts: opts.maxAttempts ?? DEFAULT_BLOB_RETRY_POLICY.maxAttempts,
      baseDelayMs: opts.baseDelayMs ?? DEFAULT_BLOB_RETRY_POLICY.baseDelayMs,
      maxDelayMs: opts.maxDelayMs ?? DEFAULT_BLOB_RETRY_POLICY.maxDelayMs,
    };
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = opts.random ?? Math.random;
    this.onRetry = opts.onRetry;
  }

  put(key: string, data: Uint8Array, opts?: PutOptions): Promise<PutResult> {
    return this.retry('put', key, () => this.inner.put(key, data, opts));
  }

  get(key: string): Promise<BlobContent> {
    return this.retry('get', key, () => this.inner.get(key));
  }

  getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return this.retry('getRange', key, () => this.inner.getRange(key, offset, length));
  }

  getRangeInto(key: string, offset: number, length: number, into: Uint8Array): Promise<Uint8Array> {
    return this.retry('getRange', key, () => readRangeInto(this.inner, key, offset, length, into));
  }

  stat(key: string): Promise<BlobStat | undefined> {
    return this.retry('stat', key, () => this.inner.stat(key));
  }

  delete(key: string, opts?: DeleteOptions): Promise<DeleteResult> {
    return this.retry('delete', key, () => this.inner.delete(key, opts));
  }

  /** Resumes an interrupted listing by listing again and skipping keys already yielded (key order makes that exact). */
  async *list(prefix: string): AsyncIterable<BlobListEntry> {
    let lastKey: string | undefined;
    // Tries since the listing last made progress, so a long listing survives scattered hiccups.
    let attempt = 1;
    for (;;) {
      try {
        for await (const entry of this.inner.list(prefix)) {
          if (lastKey !== undefined && entry.key <= lastKey) continue;
          lastKey = entry.key;
          attempt = 1;
          yield entry;
        }
        return;
      } catch (err) {
        await this.backoffOrThrow('list', prefix, attempt, err);
        attempt += 1;
      }
    }
  }

  openWriter(key: string, opts?: WriterOptions): Promise<BlobWriter> {
    return this.retry('openWriter', key, () => this.inner.openWriter(key, opts));
  }

  private async retry<T>(op: BlobOp, key: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await fn();
      } catch (err) {
        await this.backoffOrThrow(op, key, attempt, err);
      }
    }
  }

  private async backoffOrThrow(op: BlobOp, key: string, attempt: number, err: unknown): Promise<void> {
    if (!isTransientBlobError(err) || attempt >= this.policy.maxAttempts) throw err;
    const capMs = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
    // Equal jitter: at least half the cap, so retries never bunch up at zero delay.
    const delayMs = capMs / 2 + this.random() * (capMs / 2);
    this.onRetry?.({ op, key, attempt, delayMs, error: err });
    await this.sleep(delayMs);
  }
}
