// Entry point of a block worker thread (blockWorkerPool.ts): rebuilds the vault's sub-keys from
// workerData and runs block jobs (blockJobs.ts) as they arrive. Compiled to blockWorker.js next to
// the pool; the pool falls back to the calling thread where that file does not exist (ts-jest/swc).
import { parentPort, workerData } from 'node:worker_threads';
import { runBlockJob, type BlockJob } from './blockJobs';
import { VaultKeys } from './vaultKeys';

interface WorkerInit {
  idKey: Uint8Array;
  encKey: Uint8Array;
  vaultId: Uint8Array;
}

const init = workerData as WorkerInit;
const keys = VaultKeys.fromSubKeys(init);
const vaultId = Buffer.from(init.vaultId);
init.idKey.fill(0);
init.encKey.fill(0);

parentPort?.on('message', (msg: { seq: number; job: BlockJob }) => {
  try {
    const result = runBlockJob(keys, vaultId, msg.job);
    // The result's buffers, and the lent input, go back by transfer (never the same one twice).
    const transfer = new Set<ArrayBuffer>();
    if ('data' in result && result.data.buffer instanceof ArrayBuffer) transfer.add(result.data.buffer);
    if (result.input?.buffer instanceof ArrayBuffer) transfer.add(result.input.buffer);
    parentPort?.postMessage({ seq: msg.seq, result }, [...transfer]);
  } catch (err) {
    parentPort?.postMessage({ seq: msg.seq, error: err instanceof Error ? err.message : String(err) });
  }
});
