// `npm run bench:backup` (issue 3): Strongbox against restic and borg on performance.md's data set,
// in one run, on this machine. A seeded 2 GiB disk image (50% random, 30% text, 20% zeros) gets an
// initial backup, a seeded 1% change and an incremental, then a full restore of the latest backup,
// sha256-verified for every tool. Each step runs as its own process under GNU time, after the page
// cache is dropped. Strongbox's incremental is given the change as change tracking; a second
// incremental without it (read and hash everything) is reported too. The whole sequence repeats
// BENCH_RUNS times (default 3) with fresh repositories; the table and ratios use medians.
//   BENCH_IMAGE_MB=256 (quick run), BENCH_RUNS=1, --target azurite | BENCH_TARGET=azurite
//   (Strongbox to a disk-backed Azurite; peers stay on local directories),
//   BENCH_TOOLS=strongbox,restic, BENCH_SEED, BENCH_WORK_DIR, BENCH_KEEP=1.
// The last line printed is one JSON object with every figure and ratio.
import { copyFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../host/src/azurite/azuriteProcess';
import type { BackupTool, RestoreOutcome, StepName, StepOutcome } from './lib/benchTool';
import { readBenchConfig, type BenchConfig, type ToolName } from './lib/benchConfig';
import { applyChange, generateImage, planChange, sha256File, type ChangeSet } from './lib/diskImage';
import { BorgPeer, ensureInstalled, ResticPeer } from './lib/peers';
import {
  dropCaches,
  gnuTimeAvailable,
  processCpuMs,
  run as runCommand,
  timeSync,
} from './lib/processMeasure';
import {
  figuresOf,
  medians,
  otherRatios,
  ratiosTable,
  stepsTable,
  targetRatios,
  type StepFigures,
} from './lib/report';
import { StrongboxTool, type StrongboxTarget } from './lib/strongboxTool';

const MIB = 1024 * 1024;
const AZURITE_CONTAINER = 'strongbox-bench';

class RestoreMismatchError extends Error {}

/** What lives for the whole benchmark. */
interface Session {
  config: BenchConfig;
  workDir: string;
  imageBytes: number;
  notes: Set<string>;
  steps: StepFigures[];
  cacheDropOk: boolean;
  versions: Record<string, string>;
}

/** One run: fresh repositories and a fresh copy of the base image. */
interface Run {
  session: Session;
  index: number;
  dir: string;
  image: string;
  azurite: AzuriteInstance | undefined;
}

function log(message: string): void {
  console.error(`[bench:backup ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** Drops the cache, runs one step and records its figures. */
async function measureStep(
  run: Run,
  tool: BackupTool,
  step: StepName,
  action: () => Promise<StepOutcome | RestoreOutcome>,
): Promise<StepOutcome | RestoreOutcome> {
  const { session } = run;
  if (!(await dropCaches()) && session.cacheDropOk) {
    session.cacheDropOk = false;
    session.notes.add('could not write /proc/sys/vm/drop_caches: steps ran with a warm page cache');
  }
  const before = await tool.repoBytes();
  const azurite = tool.name.startsWith('strongbox') ? run.azurite : undefined;
  const azuriteCpuBefore = azurite ? await processCpuMs(azurite.pid) : undefined;
  const outcome = await action();
  const azuriteCpuAfter = azurite ? await processCpuMs(azurite.pid) : undefined;
  const syncAfterS = step === 'restore' ? Number(((await timeSync()) / 1000).toFixed(2)) : undefined;
  const after = await tool.repoBytes();
  const figures: StepFigures = {
    ...figuresOf(run.index, tool.name, step, outcome.measured, session.imageBytes, before, after),
    ...(syncAfterS === undefined ? {} : { syncAfterS }),
    ...(azuriteCpuAfter === undefined || azuriteCpuBefore === undefined
      ? {}
      : { azuriteCpuS: Number(((azuriteCpuAfter - azuriteCpuBefore) / 1000).toFixed(2)) }),
    ...(outcome.detail ? { detail: outcome.detail } : {}),
  };
  session.steps.push(figures);
  log(
    `run ${run.index} ${tool.name} ${step}: ${figures.wallS} s, ${figures.MBps} MB/s, CPU ${figures.cpuS} s, ` +
      `RSS ${figures.peakRssMB} MB, +${figures.addedMB} MB, repo ${figures.repoMB} MB`,
  );
  return outcome;
}

/** restic and borg, installed if missing; a peer that cannot be installed is skipped with a note. */
async function availablePeers(session: Session): Promise<ToolName[]> {
  const packages: [ToolName, string][] = [
    ['restic', 'restic'],
    ['borg', 'borgbackup'],
  ];
  const ok: ToolName[] = [];
  for (const [name, pkg] of packages) {
    if (!session.config.tools.includes(name)) continue;
    const why = await ensureInstalled(name, pkg);
    if (why) {
      log(`${name} skipped: ${why}`);
      session.notes.add(`${name} skipped: ${why}`);
    } else {
      ok.push(name);
    }
  }
  return ok;
}

async function strongboxTarget(run: Run, label: string): Promise<StrongboxTarget> {
  if (run.session.config.target === 'local') {
    const dir = path.join(run.dir, `${label}-store`);
    return { store: { kind: 'local', dir }, dataDir: dir };
  }
  const location = path.join(run.dir, 'azurite');
  run.azurite ??= await startAzurite({ location });
  return {
    store: { kind: 'azurite', connectionString: run.azurite.connectionString, container: AZURITE_CONTAINER },
    dataDir: location,
  };
}

/**
 * The no-change-tracking incremental continues from the same initial point. Locally it runs on a
 * copy of the repository taken right after the initial backup, so its added bytes are its own. On
 * Azurite it runs on the same vault after the tracked incremental, so it finds the changed blocks
 * already stored: its time is comparable, its added bytes are not.
 */
async function forkForNoCt(run: Run, strongbox: StrongboxTool): Promise<StrongboxTool> {
  if (run.session.config.target === 'local') {
    const from = path.join(run.dir, 'strongbox-store');
    const dir = path.join(run.dir, 'strongbox-noct-store');
    await cp(from, dir, { recursive: true, preserveTimestamps: true });
    return strongbox.forkedOnto({ store: { kind: 'local', dir }, dataDir: dir }, 'strongbox-noct', false);
  }
  run.session.notes.add(
    'azurite: strongbox-noct ran on the same vault after the tracked incremental, so its added bytes ' +
      'are deduplicated against it (time is comparable, added bytes are not)',
  );
  return strongbox.forkedOnto(await strongboxTarget(run, 'strongbox'), 'strongbox-noct', false);
}

async function verifyRestore(tool: string, restoredPath: string, expected: string): Promise<void> {
  const got = await sha256File(restoredPath);
  if (got !== expected) {
    throw new RestoreMismatchError(
      `${tool}: restored image sha256 ${got} != source ${expected} (${restoredPath} kept for inspection)`,
    );
  }
  log(`${tool} restore verified: sha256 ${got.slice(0, 16)}…`);
  await rm(restoredPath, { force: true });
}

/**
 * The tracked incremental must not have read the whole image, or its figure would be a lie. It may
 * read more than the change: whole 64 KiB blocks, and gaps of up to 128 KiB between changed blocks
 * are read along (diskScan.ts), so the read amplification is noted.
 */
function checkChangeTrackingUsed(run: Run, change: ChangeSet): void {
  const { session } = run;
  const incr = session.steps.find(
    (s) => s.run === run.index && s.tool === 'strongbox' && s.step === 'incremental',
  );
  const bytesRead = incr?.detail?.bytesRead;
  if (typeof bytesRead !== 'number') return;
  if (bytesRead >= session.imageBytes / 2) {
    throw new Error(
      `strongbox incremental read ${bytesRead} of ${session.imageBytes} bytes: change tracking unused`,
    );
  }
  session.notes.add(
    `strongbox incremental with change tracking read ${(bytesRead / 1e6).toFixed(1)} MB for a ` +
      `${(change.bytes / 1e6).toFixed(1)} MB change (${(bytesRead / change.bytes).toFixed(1)}x)`,
  );
}

async function runOnce(
  run: Run,
  baseImage: string,
  change: ChangeSet,
  peers: readonly ToolName[],
  changedSha: string,
): Promise<void> {
  const { session } = run;
  await mkdir(run.dir, { recursive: true });
  await copyFile(baseImage, run.image);
  const tools: BackupTool[] = [];
  let strongbox: StrongboxTool | undefined;
  if (session.config.tools.includes('strongbox')) {
    strongbox = new StrongboxTool(
      { workDir: run.dir, image: run.image, imageBytes: session.imageBytes, changed: change.ranges },
      await strongboxTarget(run, 'strongbox'),
    );
    tools.push(strongbox);
  }
  const peerPaths = { workDir: run.dir, image: run.image };
  if (peers.includes('restic')) tools.push(await ResticPeer.create(peerPaths));
  if (peers.includes('borg')) tools.push(await BorgPeer.create(peerPaths));
  for (const tool of tools) {
    session.versions[tool.name] = tool.version;
    await tool.init();
  }

  for (const tool of tools) await measureStep(run, tool, 'initial', () => tool.backup('initial'));
  const noCt = strongbox ? await forkForNoCt(run, strongbox) : undefined;

  await applyChange(run.image, change, session.config.seed);
  for (const tool of tools) await measureStep(run, tool, 'incremental', () => tool.backup('incremental'));
  if (noCt) await measureStep(run, noCt, 'incrementalNoCt', () => noCt.backup('incremental'));
  checkChangeTrackingUsed(run, change);

  for (const tool of tools) {
    const dir = path.join(run.dir, `${tool.name}-restore`);
    const outcome = (await measureStep(run, tool, 'restore', () => tool.restore(dir))) as RestoreOutcome;
    await verifyRestore(tool.name, outcome.restoredPath, changedSha);
  }
}

/** The code measured: HEAD, and whether the vault's sources differ from it (others edit it live). */
async function sourceState(): Promise<{ head: string; vaultDirty: boolean } | null> {
  try {
    const cwd = path.resolve(__dirname, '..', '..');
    const head = (await runCommand('git', ['rev-parse', '--short', 'HEAD'], { cwd })).trim();
    const status = await runCommand('git', ['status', '--porcelain', '--', 'shared/vault'], { cwd });
    const dirty = status.trim() !== '';
    return { head, vaultDirty: dirty };
  } catch {
    return null;
  }
}

async function bench(session: Session): Promise<void> {
  const { config } = session;
  const baseImage = path.join(session.workDir, 'base.img');
  log(`generating ${config.imageMiB} MiB image (seed ${config.seed}) in ${session.workDir}`);
  const t = performance.now();
  const composition = await generateImage(baseImage, session.imageBytes, config.seed);
  const baseSha = await sha256File(baseImage);
  const change = planChange(session.imageBytes, config.seed);
  // The changed image's hash, from a scratch copy: what every restore must reproduce.
  const scratch = path.join(session.workDir, 'changed.img');
  await copyFile(baseImage, scratch);
  await applyChange(scratch, change, config.seed);
  const changedSha = await sha256File(scratch);
  await rm(scratch);
  log(
    `image ready in ${((performance.now() - t) / 1000).toFixed(1)} s, sha256 ${baseSha.slice(0, 16)}…; ` +
      `change: ${change.ranges.length} writes, ${(change.bytes / 1e6).toFixed(1)} MB ` +
      `(${((100 * change.bytes) / session.imageBytes).toFixed(2)}%)`,
  );
  const peers = await availablePeers(session);

  for (let index = 1; index <= config.runs; index += 1) {
    const run: Run = {
      session,
      index,
      dir: path.join(session.workDir, `run-${index}`),
      image: path.join(session.workDir, `run-${index}`, 'disk.img'),
      azurite: undefined,
    };
    try {
      await runOnce(run, baseImage, change, peers, changedSha);
    } finally {
      await run.azurite?.stop();
    }
    if (!config.keepWork) await rm(run.dir, { recursive: true, force: true });
  }

  const typical = medians(session.steps);
  const targets = targetRatios(typical);
  const perRun = Array.from({ length: config.runs }, (_, i) =>
    targetRatios(session.steps.filter((s) => s.run === i + 1)).map((r) => ({
      measure: r.measure,
      ratio: r.ratio,
      strongbox: r.strongbox,
    })),
  );
  const load = os.loadavg().map((l) => Number(l.toFixed(2)));
  console.log(
    `\nbench:backup — ${config.imageMiB} MiB image, ${config.runs} run(s), Strongbox target: ${config.target}, ` +
      `load ${load.join(' ')}, ${os.cpus().length} cores, ${new Date().toISOString()}\n`,
  );
  console.log(stepsTable(config.runs > 1 ? [...session.steps, ...typical] : session.steps));
  console.log('');
  console.log(ratiosTable(targets));
  if (config.runs > 1) {
    for (const r of perRun)
      console.log(`per run: ${r.map((x) => `${x.measure} ${x.ratio ?? x.strongbox ?? '–'}`).join('; ')}`);
  }
  for (const note of session.notes) console.log(`note: ${note}`);
  console.log(
    JSON.stringify({
      bench: 'backup',
      date: new Date().toISOString(),
      node: process.version,
      cores: os.cpus().length,
      loadavg: load,
      target: config.target,
      imageMiB: config.imageMiB,
      runs: config.runs,
      seed: config.seed,
      image: { sha256Base: baseSha, sha256Changed: changedSha, ...composition },
      change: { writes: change.ranges.length, bytes: change.bytes },
      pageCacheDropped: session.cacheDropOk,
      versions: session.versions,
      source: await sourceState(),
      steps: session.steps,
      medians: typical,
      targets,
      targetsPerRun: perRun,
      otherRatios: otherRatios(typical),
      notes: [...session.notes],
    }),
  );
}

async function main(): Promise<void> {
  const config = readBenchConfig(process.argv.slice(2), process.env);
  const why = await ensureInstalled('/usr/bin/time', 'time');
  if (why || !gnuTimeAvailable())
    throw new Error(`GNU time is needed for peak RSS and CPU: ${why ?? 'missing'}`);
  const workDir = await mkdtemp(path.join(config.workRoot, 'sb-backup-bench-'));
  const session: Session = {
    config,
    workDir,
    imageBytes: config.imageMiB * MIB,
    notes: new Set(),
    steps: [],
    cacheDropOk: true,
    versions: {},
  };
  let keep = config.keepWork;
  try {
    await bench(session);
  } catch (err) {
    keep ||= err instanceof RestoreMismatchError;
    await writeFile(path.join(workDir, 'steps.json'), JSON.stringify(session.steps)).catch(() => undefined);
    throw err;
  } finally {
    if (keep) log(`work directory kept: ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
