// The state machine every BlobWriter shares, so misuse fails the same way on every adapter:
// open → (write)* → commit → committed, with abort possible at any time and any error final.
import { BlobInvalidArgumentError } from './blobErrors';

type State = 'open' | 'busy' | 'committed' | 'aborted' | 'failed';

export class WriterLifecycle {
  private state: State = 'open';

  constructor(private readonly key: string) {}

  get isAborted(): boolean {
    return this.state === 'aborted';
  }

  /** Runs one write or commit; refuses overlapping calls and calls after commit, abort or failure. */
  async run<T>(op: 'write' | 'commit', fn: () => Promise<T>): Promise<T> {
    if (this.state !== 'open')
      throw new BlobInvalidArgumentError(
        this.state === 'busy'
          ? `writer ${op} overlaps an unfinished call; await each write`
          : `writer is ${this.state}; cannot ${op}`,
        this.key,
      );
    this.state = 'busy';
    try {
      const result = await fn();
      if (this.state === 'busy') this.state = op === 'commit' ? 'committed' : 'open';
      return result;
    } catch (err) {
      if (this.state === 'busy') this.state = 'failed';
      throw err;
    }
  }

  /** Marks the writer aborted. Returns false if there is nothing to undo (committed or already aborted). */
  beginAbort(): boolean {
    if (this.state === 'committed' || this.state === 'aborted') return false;
    this.state = 'aborted';
    return true;
  }

  /** Throws if an abort arrived while a call was running, so the call does not publish anything. */
  assertNotAborted(): void {
    if (this.state === 'aborted') throw new BlobInvalidArgumentError('writer was aborted', this.key);
  }
}
