// A small pool of worker threads for block jobs (blockJobs.ts): Brotli, AES-GCM and the id
// re-check are ~90% of a restore's CPU and most of a backup's, and one thread cannot use the
// second core (docs/design.md, "Parallelism"). The pool runs one job per worker at a time and
// queues the rest; callers bound how many jobs they keep in flight (memory). Where the compiled
// worker script is absent (tests run the TypeScript sources through swc) or workers are turned
// off, jobs run in the calling thread with the same code.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { runBlockJob, type BlockJob, type BlockJobFailure, type BlockJobResult } from './blockJobs';
import type { Vault } from './vault';

/** At most this many block workers, whatever the core count: each costs a V8 heap (~10–30 MB). */
export const MAX_BLOCK_WORKERS = 4;

export interface BlockJobRunner {
  /** Worker threads in use; 0 = jobs run in the calling thread. */
  readonly threads: number;
  run(job: BlockJob): Promise<BlockJobResult | BlockJobFailure>;
  close(): Promise<void>;
}

export interface BlockPoolOptions {
  /** Worker count; 0 runs in the calling thread. Default: min(availableParallelism(), MAX_BLOCK_WORKERS). */
  workers?: number;
  /** The compiled worker entry point. Default: blockWorker.js next to this module, if it exists. */
  workerScript?: string;
}

export function defaultBlockWorkers(): number {
  return Math.max(1, Math.min(MAX_BLOCK_WORKERS, availableParallelism()));
}

/** The default worker script, or undefined when running from TypeScript sources. */
export function defaultWorkerScript(): string | undefined {
  if (!__filename.endsWith('.js')) return undefined;
  const script = path.join(__dirname, 'blockWorker.js');
  return existsSync(script) ? script : undefined;
}

export function openBlockPool(vault: Vault, opts: BlockPoolOptions = {}): BlockJobRunner {
  const workers = opts.workers ?? defaultBlockWorkers();
  const script = opts.workerScript ?? defaultWorkerScript();
  if (workers <= 0 || script === undefined) return new InThreadRunner(vault);
  return new WorkerPool(vault, script, workers);
}

/** Like openBlockPool, but starts the workers only when the first job arrives (an all-dedup run never does). */
export function lazyBlockPool(vault: Vault, opts: BlockPoolOptions = {}): BlockJobRunner {
  let pool: BlockJobRunner | undefined;
  return {
    get threads() {
      return pool?.threads ?? 0;
    },
    run(job) {
      pool ??= openBlockPool(vault, opts);
      return pool.run(job);
    },
    async close() {
      await pool?.close();
    },
  };
}

class InThreadRunner implements BlockJobRunner {
  readonly threads = 0;
  constructor(private readonly vault: Vault) {}
  run(job: BlockJob): Promise<BlockJobResult | BlockJobFailure> {
    return new Promise((resolve) => resolve(runBlockJob(this.vault.keys, this.vault.vaultIdBytes, job)));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Pending {
  job: BlockJob;
  resolve: (r: BlockJobResult | BlockJobFailure) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | undefined;
}

class WorkerPool implements BlockJobRunner {
  readonly threads: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private failure: Error | undefined;
  private seq = 0;

  constructor(vault: Vault, script: string, count: number) {
    this.threads = count;
    const sub = vault.keys.subKeysForWorker();
    for (let w = 0; w < count; w += 1) {
      const worker = new Worker(script, {
        workerData: { ...sub, vaultId: new Uint8Array(vault.vaultIdBytes) },
      });
      const slot: Slot = { worker, busy: undefined };
      worker.unref(); // referenced only while it holds a job, so an idle pool never keeps a process alive
      worker.on('message', (msg: { result?: BlockJobResult | BlockJobFailure; error?: string }) => {
        const p = slot.busy;
        slot.busy = undefined;
        worker.unref();
        if (p) {
          if (msg.result) p.resolve(msg.result);
          else p.reject(new Error(`block worker: ${msg.error ?? 'unknown error'}`));
        }
        this.dispatch();
      });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (slot.busy || this.queue.length > 0) this.fail(new Error(`block worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
    sub.idKey.fill(0);
    sub.encKey.fill(0);
  }

  run(job: BlockJob): Promise<BlockJobResult | BlockJobFailure> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.fail(new Error('block pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const p = this.queue.shift();
      if (!p) return;
      slot.busy = p;
      slot.worker.ref();
      const { job } = p;
      // A lent input (`transferInput`) and a lent output buffer are transferred and come back with
      // the result. Other inputs are copied into a fresh buffer and that is transferred: a view of a
      // larger (pooled or store-owned) ArrayBuffer would otherwise be cloned whole, or detached.
      // Views of a SharedArrayBuffer are shared, neither copied nor transferred.
      // A lent input is transferred only if the view covers its whole ArrayBuffer (a slice of Node's
      // Buffer pool, or of a larger buffer, is copied: transferring would detach its neighbours).
      const shared = job.data.buffer instanceof SharedArrayBuffer;
      const whole = job.data.byteOffset === 0 && job.data.byteLength === job.data.buffer.byteLength;
      const data = shared || (job.transferInput && whole) ? job.data : new Uint8Array(job.data);
      const transfer = new Set<ArrayBuffer>();
      if (data.buffer instanceof ArrayBuffer) transfer.add(data.buffer);
      if (job.kind !== 'hash' && job.out?.buffer instanceof ArrayBuffer) transfer.add(job.out.buffer);
      slot.worker.postMessage({ seq: (this.seq += 1), job: { ...job, data } }, [...transfer]);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const slot of this.slots) {
      const p = slot.busy;
      slot.busy = undefined;
      p?.reject(err);
    }
    for (const p of this.queue.splice(0)) p.reject(err);
  }
}
