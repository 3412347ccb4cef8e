// restic and borg as measured peers (performance.md §1), each with a fresh repository and cache in
// the run's work directory and its default compression. Installed from Debian when missing.
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { BackupTool, RestoreOutcome, StepOutcome } from './benchTool';
import { duBytes, run, runMeasured } from './processMeasure';

/** Fixed, throwaway: the repositories live and die in the run's temp directory. */
const BENCH_PASSPHRASE = 'strongbox-bench-passphrase';

export interface PeerPaths {
  /** The run's work directory; the peer keeps its repository, cache and scratch files under it. */
  workDir: string;
  /** Absolute path of the image being backed up. */
  image: string;
}

/** Finds `command`, installing `debianPackage` with apt-get if missing. Returns why not, or undefined. */
export async function ensureInstalled(command: string, debianPackage: string): Promise<string | undefined> {
  const found = async (): Promise<boolean> =>
    run('sh', ['-c', `command -v ${command}`]).then(
      () => true,
      () => false,
    );
  if (await found()) return undefined;
  console.error(`${command} is missing; installing Debian package ${debianPackage}...`);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update', '-qq'], { env });
    await run('apt-get', ['install', '-y', '-qq', debianPackage], { env });
  } catch (err) {
    return `apt-get install ${debianPackage} failed: ${(err as Error).message.split('\n')[0]}`;
  }
  return (await found()) ? undefined : `${debianPackage} installed but ${command} is still not on PATH`;
}

export class ResticPeer implements BackupTool {
  readonly name = 'restic';
  private readonly repo: string;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(
    private readonly paths: PeerPaths,
    readonly version: string,
  ) {
    this.repo = path.join(paths.workDir, 'restic-repo');
    this.env = {
      ...process.env,
      RESTIC_PASSWORD: BENCH_PASSPHRASE,
      RESTIC_REPOSITORY: this.repo,
      RESTIC_CACHE_DIR: path.join(paths.workDir, 'restic-cache'),
    };
  }

  static async create(paths: PeerPaths): Promise<ResticPeer> {
    const version = (await run('restic', ['version'])).trim();
    return new ResticPeer(paths, version);
  }

  async init(): Promise<void> {
    await run('restic', ['init'], { env: this.env });
  }

  async backup(): Promise<StepOutcome> {
    return { measured: await runMeasured('restic', ['backup', '--quiet', this.paths.image], this.opts()) };
  }

  async restore(targetDir: string): Promise<RestoreOutcome> {
    const measured = await runMeasured('restic', ['restore', 'latest', '--target', targetDir], this.opts());
    // restic recreates the absolute path under the target.
    return { measured, restoredPath: path.join(targetDir, this.paths.image) };
  }

  repoBytes(): Promise<number> {
    return duBytes(this.repo);
  }

  private opts(): { env: NodeJS.ProcessEnv; timeReport: string } {
    return { env: this.env, timeReport: path.join(this.paths.workDir, 'restic.time') };
  }
}

export class BorgPeer implements BackupTool {
  readonly name = 'borg';
  private readonly repo: string;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(
    private readonly paths: PeerPaths,
    readonly version: string,
  ) {
    this.repo = path.join(paths.workDir, 'borg-repo');
    this.env = {
      ...process.env,
      BORG_PASSPHRASE: BENCH_PASSPHRASE,
      BORG_REPO: this.repo,
      // Fresh cache, config and security folders per run (performance.md: fresh repository and cache).
      BORG_BASE_DIR: path.join(paths.workDir, 'borg-base'),
      BORG_DISPLAY_PASSPHRASE: 'no',
    };
  }

  static async create(paths: PeerPaths): Promise<BorgPeer> {
    const version = (await run('borg', ['--version'])).trim();
    return new BorgPeer(paths, version);
  }

  async init(): Promise<void> {
    await run('borg', ['init', '-e', 'repokey'], { env: this.env });
  }

  async backup(step: 'initial' | 'incremental'): Promise<StepOutcome> {
    return { measured: await runMeasured('borg', ['create', `::${step}`, this.paths.image], this.opts()) };
  }

  async restore(targetDir: string): Promise<RestoreOutcome> {
    await mkdir(targetDir, { recursive: true });
    const measured = await runMeasured('borg', ['extract', '::incremental'], {
      ...this.opts(),
      cwd: targetDir,
    });
    // borg stores the path without its leading '/' and extracts it under the working directory.
    return { measured, restoredPath: path.join(targetDir, path.relative('/', this.paths.image)) };
  }

  repoBytes(): Promise<number> {
    return duBytes(this.repo);
  }

  private opts(): { env: NodeJS.ProcessEnv; timeReport: string } {
    return { env: this.env, timeReport: path.join(this.paths.workDir, 'borg.time') };
  }
}
