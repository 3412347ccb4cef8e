// A BlobStore wrapper that injects faults by rule, modelled on kopia's internal/blobtesting/faulty.go.
// Rules match an operation and a key pattern, and fire on the nth matching call or with a
// probability drawn from a seeded PRNG, so every failing run can be replayed from its seed.
import { BlobPreconditionFailedError, BlobTransientError } from './blobErrors';
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
import { readRangeInto } from './readRangeInto';
import { seededRandom } from './seededRandom';

export type Fault =
  /**
   * TRANSIENT. 'before': the operation does not run. 'after': it runs, then the answer is lost (the
   * case where a retried `ifNoneMatch` put meets its own first attempt). For `list`, 'after' fails
   * once `afterItems` entries (default: all) have been yielded.
   */
  | { kind: 'transient'; when?: 'before' | 'after'; afterItems?: number }
  /** PRECONDITION_FAILED before the operation runs, as if another writer got there first. */
  | { kind: 'preconditionFailed' }
  /** get/getRange return `dropBytes` (default 1) fewer bytes than stored: a short read. */
  | { kind: 'truncatedRead'; dropBytes?: number }
  /** get/getRange return the bytes with one bit flipped (bit chosen by the PRNG unless given). */
  | { kind: 'flipBit'; bitIndex?: number }
  /** The operation starts after `ms` milliseconds. */
  | { kind: 'delay'; ms: number };

export interface FaultRule {
  /** Operations the rule applies to; all if omitted. */
  ops?: readonly BlobOp[];
  /** Keys the rule applies to (the prefix, for `list`); all if omitted. */
  keyPattern?: RegExp;
  /** Fire only on the nth matching call (1-based). */
  nth?: number;
  /** Fire on each matching call with this probability. Without nth or probability: every call. */
  probability?: number;
  /** Fire at most this many times. */
  maxTimes?: number;
  fault: Fault;
}

export interface InjectedFault {
  op: BlobOp;
  key: string;
  kind: Fault['kind'];
  /** Which matching call of its rule this was (1-based). */
  call: number;
}

interface RuleState {
  rule: FaultRule;
  calls: number;
  fired: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FaultyBlobStore implements BlobStore {
  /** Every fault that fired, in order, for assertions and failure messages. */
  readonly injected: InjectedFault[] = [];
  private readonly rules: RuleState[] = [];
  private readonly random: () => number;

  constructor(
    private readonly inner: BlobStore,
    rules: readonly FaultRule[] = [],
    readonly seed = 1,
  ) {
    this.random = seededRandom(seed);
    rules.forEach((r) => this.addRule(r));
  }

  addRule(rule: FaultRule): void {
    this.rules.push({ rule, calls: 0, fired: 0 });
  }

  clearRules(): void {
    this.rules.length = 0;
  }

  /** For failure messages: the seed and what fired. */
  describe(): string {
    const fired = this.injected.map((f) => `${f.op}(${f.key})#${f.call}:${f.kind}`).join(', ');
    return `FaultyBlobStore seed=${this.seed}; injected: ${fired || 'none'}`;
  }

  async put(key: string, data: Uint8Array, opts?: PutOptions): Promise<PutResult> {
    return this.around('put', key, () => this.inner.put(key, data, opts));
  }

  async get(key: string): Promise<BlobContent> {
    const faults = this.fire('get', key);
    const content = await this.around('get', key, () => this.inner.get(key), faults);
    return { ...content, data: this.corrupt(content.data, faults) };
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    const faults = this.fire('getRange', key);
    const data = await this.around('getRange', key, () => this.inner.getRange(key, offset, length), faults);
    return this.corrupt(data, faults);
  }

  /** getRangeInto fires the getRange rules; a truncated read returns a shorter view, a flip is made in `into`. */
  async getRangeInto(key: string, offset: number, length: number, into: Uint8Array): Promise<Uint8Array> {
    const faults = this.fire('getRange', key);
    const data = await this.around(
      'getRange',
      key,
      () => readRangeInto(this.inner, key, offset, length, into),
      faults,
    );
    return this.corrupt(data, faults, true);
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    return this.around('stat', key, () => this.inner.stat(key));
  }

  async delete(key: string, opts?: DeleteOptions): Promise<DeleteResult> {
    return this.around('delete', key, () => this.inner.delete(key, opts));
  }

  async *list(prefix: string): AsyncIterable<BlobListEntry> {
    const faults = this.fire('list', prefix);
    await this.before(faults, prefix);
    const after = faults.find((f) => f.kind === 'transient' && f.when === 'after');
    const afterItems = after?.kind === 'transient' ? (after.afterItems ?? Infinity) : Infinity;
    let yielded = 0;
    for await (const entry of this.inner.list(prefix)) {
      if (yielded >= afterItems) break;
      yield entry;
      yielded += 1;
    }
    if (after)
      throw new BlobTransientError(`injected fault: list interrupted after ${yielded} entries`, prefix);
  }

  async openWriter(key: string, opts?: WriterOptions): Promise<BlobWriter> {
    const faults = this.fire('openWriter', key);
    await this.before(faults, key);
    const writer = await this.inner.openWriter(key, opts);
    if (faults.some(isTransientAfter)) {
      await writer.abort();
      throw new BlobTransientError('injected fault: openWriter answer lost', key);
    }
    return new FaultyWriter(writer, key, this);
  }

  /** Decides which rules fire for this call (advancing their counters and the PRNG). */
  fire(op: BlobOp, key: string): Fault[] {
    const faults: Fault[] = [];
    for (const state of this.rules) {
      const { rule } = state;
      if (rule.ops && !rule.ops.includes(op)) continue;
      if (rule.keyPattern && !rule.keyPattern.test(key)) continue;
      state.calls += 1;
      if (rule.maxTimes !== undefined && state.fired >= rule.maxTimes) continue;
      if (rule.nth !== undefined && state.calls !== rule.nth) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      state.fired += 1;
      faults.push(rule.fault);
      this.injected.push({ op, key, kind: rule.fault.kind, call: state.calls });
    }
    return faults;
  }

  /** Runs `fn` with the call's faults applied around it. */
  async around<T>(op: BlobOp, key: string, fn: () => Promise<T>, faults = this.fire(op, key)): Promise<T> {
    await this.before(faults, key);
    const result = await fn();
    if (faults.some(isTransientAfter)) throw new BlobTransientError(`injected fault: ${op} answer lost`, key);
    return result;
  }

  private async before(faults: readonly Fault[], key: string): Promise<void> {
    for (const fault of faults) if (fault.kind === 'delay') await sleep(fault.ms);
    for (const fault of faults) {
      if (fault.kind === 'preconditionFailed') throw new BlobPreconditionFailedError(key);
      if (fault.kind === 'transient' && fault.when !== 'after')
        throw new BlobTransientError('injected fault: transient', key);
    }
  }

  /** `inPlace`: the bytes are the caller's own buffer (getRangeInto), so flip there, not in a copy. */
  private corrupt(data: Uint8Array, faults: readonly Fault[], inPlace = false): Uint8Array {
    let out = data;
    for (const fault of faults) {
      if (fault.kind === 'truncatedRead')
        out = inPlace
          ? out.subarray(0, Math.max(0, out.byteLength - (fault.dropBytes ?? 1)))
          : out.slice(0, Math.max(0, out.byteLength - (fault.dropBytes ?? 1)));
      if (fault.kind === 'flipBit' && out.byteLength > 0) {
        const bit = (fault.bitIndex ?? Math.floor(this.random() * out.byteLength * 8)) % (out.byteLength * 8);
        if (!inPlace) out = new Uint8Array(out); // a copy: Buffer.slice() would flip the stored bytes too
        out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      }
    }
    return out;
  }
}

class FaultyWriter implements BlobWriter {
  constructor(
    private readonly inner: BlobWriter,
    private readonly key: string,
    private readonly store: FaultyBlobStore,
  ) {}

  get bytesWritten(): number {
    return this.inner.bytesWritten;
  }

  async write(chunk: Uint8Array): Promise<void> {
    return this.failing('writer.write', () => this.inner.write(chunk));
  }

  async commit(): Promise<PutResult> {
    return this.failing('writer.commit', () => this.inner.commit());
  }

  abort(): Promise<void> {
    return this.inner.abort();
  }

  /** An injected failure leaves the writer failed, as a real one does: the inner writer is aborted. */
  private async failing<T>(op: BlobOp, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.store.around(op, this.key, fn);
    } catch (err) {
      await this.inner.abort();
      throw err;
    }
  }
}

function isTransientAfter(fault: Fault): boolean {
  return fault.kind === 'transient' && fault.when === 'after';
}
