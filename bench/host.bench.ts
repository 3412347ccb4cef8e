// `npm run bench:host`: orchestrations per second for 10-activity chains on the local host with
// durable state in a disk-backed Azurite, and activity dispatch latency (p50/p99). The peer, measured
// in the same run, is the storage floor: the same table transactions a chain needs (one per episode),
// issued directly with the SDK at the same concurrency. The ratio shows what the engine adds.
// The last line printed is one JSON object with every figure.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TableClient, type TransactionAction } from '@azure/data-tables';
import { freePort, startAzurite } from '../host/src/azurite/azuriteProcess';

const ORCHESTRATIONS = Number(process.env.BENCH_ORCHESTRATIONS ?? 300);
const ACTIVITIES_PER_CHAIN = 10;
const GOAL_PER_SECOND = 20;
const REPO = path.resolve(__dirname, '..', '..');
const APP = path.join(REPO, 'bench', 'apps', 'chain-app');
const CLI = path.join(REPO, 'dist', 'host', 'src', 'cli.js');
const MASTER_KEY = `bench-${randomUUID()}`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

async function waitReady(base: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/admin/host/status`, { headers: { 'x-functions-key': MASTER_KEY } });
      if (r.status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error('host did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runHost(
  connectionString: string,
): Promise<{ perSecond: number; p50: number; p99: number; seconds: number }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [CLI, 'start', APP, '--port', String(port)], {
    env: {
      ...process.env,
      AzureWebJobsStorage: connectionString,
      STRONGBOX_HOST_MASTER_KEY: MASTER_KEY,
      STRONGBOX_HOST_LOG: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitReady(base);
    const api = `${base}/runtime/webhooks/durabletask`;
    const started = Date.now();
    const ids = await Promise.all(
      Array.from({ length: ORCHESTRATIONS }, async () => {
        const r = await fetch(`${api}/orchestrators/chain10?code=${MASTER_KEY}`, { method: 'POST' });
        if (r.status !== 202) throw new Error(`start failed: ${r.status} ${await r.text()}`);
        return ((await r.json()) as { id: string }).id;
      }),
    );
    // Wait with point reads, oldest first: a filtered list is a full table scan in Azurite and would
    // compete with the engine for Azurite's single thread.
    const latencies: number[] = [];
    for (const id of ids) {
      for (;;) {
        const r = await fetch(`${api}/instances/${id}?code=${MASTER_KEY}`);
        const s = (await r.json()) as { runtimeStatus: string; output: number[] };
        if (s.runtimeStatus === 'Completed') {
          latencies.push(...s.output);
          break;
        }
        if (s.runtimeStatus === 'Failed' || s.runtimeStatus === 'Terminated')
          throw new Error(`${id} ${s.runtimeStatus}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    const seconds = (Date.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      perSecond: ORCHESTRATIONS / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      seconds,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

/** The storage floor: per chain, one insert transaction and one update+append transaction per episode. */
async function runStorageFloor(connectionString: string): Promise<{ perSecond: number; seconds: number }> {
  const table = TableClient.fromConnectionString(connectionString, 'BenchFloor', {
    allowInsecureConnection: true,
  });
  await table.createTable();
  const payload = 'x'.repeat(600);
  const started = Date.now();
  const concurrency = 20;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ORCHESTRATIONS) {
        const pk = `c${next++}`;
        await table.submitTransaction([['create', { partitionKey: pk, rowKey: 'state', Data: payload }]]);
        for (let e = 0; e <= ACTIVITIES_PER_CHAIN; e++) {
          const actions: TransactionAction[] = [
            ['update', { partitionKey: pk, rowKey: 'state', Data: payload }, 'Replace'],
            ['create', { partitionKey: pk, rowKey: `h:${e}`, Data: payload }],
          ];
          await table.submitTransaction(actions);
        }
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  return { perSecond: ORCHESTRATIONS / seconds, seconds };
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-bench-host-'));
  const azurite = await startAzurite({ location: dataDir });
  try {
    const floor = await runStorageFloor(azurite.connectionString);
    const host = await runHost(azurite.connectionString);
    const result = {
      bench: 'host',
      orchestrations: ORCHESTRATIONS,
      activitiesPerOrchestration: ACTIVITIES_PER_CHAIN,
      storage: 'azurite (disk)',
      orchestrationsPerSecond: Number(host.perSecond.toFixed(1)),
      activityDispatchP50Ms: host.p50,
      activityDispatchP99Ms: host.p99,
      storageFloorOrchestrationsPerSecond: Number(floor.perSecond.toFixed(1)),
      ratioToStorageFloor: Number((host.perSecond / floor.perSecond).toFixed(2)),
      goalOrchestrationsPerSecond: GOAL_PER_SECOND,
      ratioToGoal: Number((host.perSecond / GOAL_PER_SECOND).toFixed(2)),
      cpus: os.cpus().length,
    };
    console.log(
      `10-activity chains: ${result.orchestrationsPerSecond}/s (${ORCHESTRATIONS} in ${host.seconds.toFixed(1)} s)`,
    );
    console.log(`activity dispatch latency: p50 ${host.p50} ms, p99 ${host.p99} ms`);
    console.log(
      `storage floor (same transactions, no engine): ${result.storageFloorOrchestrationsPerSecond}/s → ratio ${result.ratioToStorageFloor}`,
    );
    console.log(`goal ${GOAL_PER_SECOND}/s → ratio ${result.ratioToGoal}`);
    console.log(JSON.stringify(result));
  } finally {
    await azurite.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
