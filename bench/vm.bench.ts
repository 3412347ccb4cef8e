// `npm run bench:vm` (issue 5): a VM's backup and restore end to end, through the HTTP API of the app
// on the local host, against restic on the same disk image, in one run on this machine.
//   1. The seeded disk image of bench:backup (bench/lib/diskImage.ts; 2 GiB: 50% random, 30% text,
//      20% zeros) becomes the OS disk of a local-fabric VM (a page blob in a disk-backed Azurite).
//   2. Vault, discover, register, protect, then "back up now" (full; the fabric's valid ranges).
//   3. The seeded 1% change (328 scattered 64 KiB writes for 2 GiB) is written to the VM's disk (and to
//      restic's image file); "back up now" again (incremental; the fabric's change tracking).
//   4. The incremental point is restored as a new VM, and its disk's SHA-256 compared to the image's.
// restic backs up the image file before and after the change and restores it, timed the same way
// (wall clock of the whole step). Strongbox's figures are from the API request to the job's end, so
// they include the orchestration, the job bookkeeping and the host. Page cache is not dropped.
//   BENCH_IMAGE_MB (default 2048), BENCH_SEED (default 2024), BENCH_WORK_DIR, BENCH_KEEP=1.
// The last line printed is one JSON object with every figure.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, startAzurite, type AzuriteInstance } from '../host/src/azurite/azuriteProcess';
import { loadOrCreateLocalSigningKey, mintLocalToken } from '../shared/auth/localSigningKey';
import { parseScope } from '../shared/auth/roleAssignments';
import { LOCAL_AUTH_AUDIENCE, LOCAL_AUTH_ISSUER, loadConfig } from '../shared/config/config';
import { createControlPlane } from '../shared/controlPlane/controlPlane';
import { cryptoIds, systemClock } from '../shared/controlPlane/controlPlanePorts';
import { LocalFabric } from '../shared/fabric/localFabric';
import { azureTableStateStore } from '../shared/state/azureTableStateStore';
import { applyChange, generateImage, planChange, sha256File } from './lib/diskImage';
import { ensureInstalled, ResticPeer } from './lib/peers';

const MIB = 1024 * 1024;
const CHUNK_BYTES = 4 * MIB;
const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'dist', 'host', 'src', 'cli.js');
const MASTER_KEY = `bench-${randomUUID()}`;
const SUB = 'bench';
const VAULT = 'benchvault';
const VM = 'benchvm';
const BASE = `/subscriptions/${SUB}/vaults/${VAULT}`;

interface Settings {
  readonly imageMiB: number;
  readonly seed: number;
  readonly workRoot: string;
  readonly keep: boolean;
}

function settings(env: NodeJS.ProcessEnv): Settings {
  const int = (raw: string | undefined, fallback: number, name: string) => {
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${raw}'`);
    return n;
  };
  return {
    imageMiB: int(env.BENCH_IMAGE_MB, 2048, 'BENCH_IMAGE_MB'),
    seed: int(env.BENCH_SEED, 2024, 'BENCH_SEED'),
    workRoot: env.BENCH_WORK_DIR || os.tmpdir(),
    keep: env.BENCH_KEEP === '1',
  };
}

function log(message: string): void {
  console.error(`[bench:vm ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

const mbps = (bytes: number, ms: number) => Math.round((bytes / MIB / (ms / 1000)) * 10) / 10;

interface Host {
  base: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startHost(connectionString: string, env: Record<string, string>): Promise<Host> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [CLI, 'start', REPO, '--port', String(port)], {
    cwd: REPO,
    env: {
      ...process.env,
      AzureWebJobsStorage: connectionString,
      STRONGBOX_HOST_MASTER_KEY: MASTER_KEY,
      STRONGBOX_HOST_LOG: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/admin/host/status`, { headers: { 'x-functions-key': MASTER_KEY } });
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the host did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Copies the image onto the VM's OS disk, skipping all-zero chunks (a new page blob reads as zeros). */
async function uploadImage(fabric: LocalFabric, image: string, bytes: number): Promise<void> {
  const handle = await open(image, 'r');
  const zero = Buffer.alloc(CHUNK_BYTES);
  try {
    for (let offset = 0; offset < bytes; offset += CHUNK_BYTES) {
      const buf = Buffer.alloc(Math.min(CHUNK_BYTES, bytes - offset));
      await handle.read(buf, 0, buf.length, offset);
      if (buf.equals(zero.subarray(0, buf.length))) continue;
      await fabric.writeDisk(VM, 0, [{ offset, data: buf }]);
    }
  } finally {
    await handle.close();
  }
}

async function main(): Promise<void> {
  const s = settings(process.env);
  const imageBytes = s.imageMiB * MIB;
  const work = await mkdtemp(path.join(s.workRoot, 'sb-bench-vm-'));
  let azurite: AzuriteInstance | undefined;
  let host: Host | undefined;
  const loadBefore = (await readFile('/proc/loadavg', 'utf8')).trim();
  try {
    const missing = await ensureInstalled('restic', 'restic');
    if (missing) throw new Error(`restic is needed for the comparison: ${missing}`);
    const image = path.join(work, 'disk.img');
    log(`generating a ${s.imageMiB} MiB image (seed ${s.seed})`);
    await generateImage(image, imageBytes, s.seed);
    const change = planChange(imageBytes, s.seed);

    log('starting a disk-backed Azurite and the fabric VM');
    azurite = await startAzurite({ location: path.join(work, 'azurite') });
    const fabric = LocalFabric.fromConnectionString(azurite.connectionString);
    await fabric.createVm({ name: VM, diskBytes: imageBytes, content: 'empty' });
    await uploadImage(fabric, image, imageBytes);

    const authDir = path.join(work, 'auth');
    mkdirSync(authDir);
    const key = await loadOrCreateLocalSigningKey(authDir);
    const cp = createControlPlane({
      store: azureTableStateStore(loadConfig({ AzureWebJobsStorage: azurite.connectionString }).storage),
      clock: systemClock,
      ids: cryptoIds,
    });
    await cp.roleAssignments.assign('bench', 'Owner', parseScope(`/subscriptions/${SUB}`), new Date());
    const token = await mintLocalToken(key, {
      principalId: 'bench',
      issuer: LOCAL_AUTH_ISSUER,
      audience: LOCAL_AUTH_AUDIENCE,
      expiresInSeconds: 6 * 3600,
    });
    host = await startHost(azurite.connectionString, {
      STRONGBOX_LOCAL_AUTH_DIR: authDir,
      STRONGBOX_AUTH_JWKS_URI: '',
      STRONGBOX_AUTH_ISSUER: '',
      STRONGBOX_AUTH_AUDIENCE: '',
      STRONGBOX_LOCAL_KEY_FILE: path.join(work, 'vm-kek'),
    });
    const h = host;
    const api = async (method: string, p: string, body?: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(`${h.base}/api${p}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    };
    const waitJob = async (jobId: string) => {
      for (;;) {
        const j = (await api('GET', `${BASE}/jobs/${jobId}`)) as {
          properties: {
            status: string;
            bytesTransferred: number;
            durationMs?: number;
            error?: unknown;
            extendedInfo?: Record<string, unknown>;
          };
        };
        if (['Completed', 'Failed', 'Cancelled'].includes(j.properties.status)) {
          if (j.properties.status !== 'Completed')
            throw new Error(`job ${jobId}: ${JSON.stringify(j.properties)}`);
          return j.properties;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const timed = async (start: () => Promise<string>) => {
      const t = performance.now();
      const job = await waitJob(await start());
      return { ms: performance.now() - t, job };
    };
    const first = (r: Record<string, unknown>) => String((r.value as { jobId: string }[])[0]?.jobId);

    await api('PUT', BASE, { location: 'local' });
    await waitJob(String((await api('POST', `${BASE}/discoverVms`)).name));
    await waitJob(first(await api('POST', `${BASE}/registerVms`, { vms: [VM] })));
    await waitJob(
      first(await api('POST', `${BASE}/protectVms`, { policyName: 'DefaultPolicy', items: [VM] })),
    );

    const restic = await ResticPeer.create({ workDir: work, image });
    await restic.init();
    log('restic: initial backup');
    const rInitial = await restic.backup();
    log('strongbox: initial backup (back up now)');
    const sInitial = await timed(async () =>
      String((await api('POST', `${BASE}/protectedItems/${VM}/backup`)).name),
    );

    log(`applying the 1% change (${change.ranges.length} writes of 64 KiB)`);
    await applyChange(image, change, s.seed);
    const img = await open(image, 'r');
    try {
      const writes = [];
      for (const r of change.ranges) {
        const data = Buffer.alloc(r.length);
        await img.read(data, 0, r.length, r.offset);
        writes.push({ offset: r.offset, data });
      }
      await fabric.writeDisk(VM, 0, writes);
    } finally {
      await img.close();
    }
    const expected = await sha256File(image);

    log('restic: incremental backup');
    const rIncr = await restic.backup();
    log('strongbox: incremental backup');
    const sIncr = await timed(async () =>
      String((await api('POST', `${BASE}/protectedItems/${VM}/backup`)).name),
    );

    log('restic: restore');
    const rRestore = await restic.restore(path.join(work, 'restic-restore'));
    const resticOk = (await sha256File(rRestore.restoredPath)) === expected;
    await rm(path.join(work, 'restic-restore'), { recursive: true, force: true });
    log('strongbox: restore as a new VM');
    const points = (await api('GET', `${BASE}/protectedItems/${VM}/recoveryPoints`)).value as {
      name: string;
    }[];
    const latest = points[points.length - 1]?.name ?? '';
    const sRestore = await timed(async () =>
      String(
        (
          await api('POST', `${BASE}/protectedItems/${VM}/recoveryPoints/${latest}/restore`, {
            restoreType: 'NewVm',
            vmName: `${VM}-restored`,
          })
        ).name,
      ),
    );
    const restoredVm = await fabric.getVm(`${VM}-restored`);
    const hash = createHash('sha256');
    for (let offset = 0; offset < imageBytes; offset += 64 * MIB) {
      hash.update(
        await fabric
          .pageBlob(restoredVm.disks[0]!.diskId)
          .downloadToBuffer(offset, Math.min(64 * MIB, imageBytes - offset)),
      );
    }
    const strongboxOk = hash.digest('hex') === expected;

    const loadAfter = (await readFile('/proc/loadavg', 'utf8')).trim();
    const sb = {
      initial: {
        ms: Math.round(sInitial.ms),
        mbps: mbps(imageBytes, sInitial.ms),
        bytesTransferred: sInitial.job.bytesTransferred,
      },
      incremental: {
        ms: Math.round(sIncr.ms),
        mbps: mbps(imageBytes, sIncr.ms),
        bytesTransferred: sIncr.job.bytesTransferred,
        bytesRead: Number(sIncr.job.extendedInfo?.bytesRead ?? 0),
      },
      restore: { ms: Math.round(sRestore.ms), mbps: mbps(imageBytes, sRestore.ms), identical: strongboxOk },
    };
    const rs = {
      initial: { ms: Math.round(rInitial.measured.wallMs), mbps: mbps(imageBytes, rInitial.measured.wallMs) },
      incremental: { ms: Math.round(rIncr.measured.wallMs), mbps: mbps(imageBytes, rIncr.measured.wallMs) },
      restore: {
        ms: Math.round(rRestore.measured.wallMs),
        mbps: mbps(imageBytes, rRestore.measured.wallMs),
        identical: resticOk,
      },
    };
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const ratios = {
      initial: ratio(sb.initial.mbps, rs.initial.mbps),
      incremental: ratio(sb.incremental.mbps, rs.incremental.mbps),
      restore: ratio(sb.restore.mbps, rs.restore.mbps),
    };
    console.log('');
    console.log(
      `VM backup, ${s.imageMiB} MiB disk, ${change.ranges.length} x 64 KiB change (${change.bytes} bytes)`,
    );
    console.log('step          strongbox (API, MB/s)   restic (MB/s)   ratio (strongbox / restic)');
    for (const step of ['initial', 'incremental', 'restore'] as const) {
      console.log(
        `${step.padEnd(14)}${String(sb[step].mbps).padStart(10)} (${(sb[step].ms / 1000).toFixed(1)} s)` +
          `${String(rs[step].mbps).padStart(13)} (${(rs[step].ms / 1000).toFixed(1)} s)${String(ratios[step]).padStart(10)}`,
      );
    }
    console.log(`load average before ${loadBefore}, after ${loadAfter}; cores ${os.availableParallelism()}`);
    if (!strongboxOk || !resticOk)
      throw new Error(`a restore differs from the image (strongbox ${strongboxOk}, restic ${resticOk})`);
    console.log(
      JSON.stringify({
        bench: 'vm',
        imageBytes,
        seed: s.seed,
        changeBytes: change.bytes,
        strongbox: sb,
        restic: { ...rs, version: restic.version },
        ratios,
        loadavg: { before: loadBefore, after: loadAfter },
        cores: os.availableParallelism(),
      }),
    );
  } finally {
    await host?.stop();
    await azurite?.stop();
    if (!s.keep) await rm(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
