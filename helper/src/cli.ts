// `strongbox-helper`: the on-prem helper (docs/offline-seeding.md). An edge: it parses arguments, asks
// questions (or takes flags), calls shared/offline and shared/vault, prints, and returns an exit code
// (0 ok, 1 failed, 2 bad usage). Keys and passphrases are never printed or written in plaintext.
import * as cliProgress from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { LocalDirBlobStore } from '../../shared/blob/localDirBlobStore';
import { StrongboxError } from '../../shared/errors';
import { diskPrep, type DiskPrepProgress } from '../../shared/offline/diskPrep';
import { JOB_NAME_PATTERN } from '../../shared/offline/driveFormat';
import { localDriveKeyEscrow } from '../../shared/offline/localDriveKeyEscrow';
import { localImportService } from '../../shared/offline/localImportService';
import { OFFLINE_ERROR_CODES, OfflineError } from '../../shared/offline/offlineErrors';
import {
  backup,
  createVault,
  MIN_PASSPHRASE_CHARS,
  openVault,
  passphraseKeyProvider,
} from '../../shared/vault';
import { localServiceClient } from './localServiceClient';
import { inquirerPrompter, type Prompter } from './prompter';
import type { ServiceClient } from './serviceClient';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** True when stdin/stdout are a terminal: prompts and progress bars are allowed. */
  interactive: boolean;
  prompter?: Prompter;
}

interface GlobalOpts {
  stateDir?: string;
  connection?: string;
  serviceDir?: string;
}

/** What the helper remembers about a job it prepared: `<state dir>/jobs/<name>.json`. */
interface LocalJobRecord {
  name: string;
  staging: string;
  storageAccount: string;
  container: string;
  drives: Array<{ index: number; dir: string; driveId: string; keyId: string }>;
  shipping?: { carrier: string; trackingNumber: string; returnAddress: string; savedAt: string };
}

function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function nonNegativeInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer ≥ 0');
  return n;
}

function collect(value: string, prev: string[]): string[] {
  return [...prev, value];
}

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u] ?? 'B'}`;
}

function usage(message: string): OfflineError {
  return new OfflineError(OFFLINE_ERROR_CODES.INVALID_ARGUMENT, message);
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const prompter = io.prompter ?? inquirerPrompter();
  let exitCode = 0;
  const program = new Command('strongbox-helper')
    .description('Strongbox on-prem helper: offline seeding (stage, prepare drives, ship)')
    .option(
      '--state-dir <dir>',
      'where the helper keeps job records (default: $STRONGBOX_HELPER_HOME or ~/.strongbox-helper)',
    )
    .option(
      '--connection <string>',
      'local service: storage connection string (default: $AzureWebJobsStorage)',
    )
    .option('--service-dir <dir>', 'local service: escrow key store (default: <state dir>/local-service)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const globals = (): Required<Pick<GlobalOpts, 'stateDir' | 'serviceDir'>> & GlobalOpts => {
    const g = program.opts<GlobalOpts>();
    const stateDir = path.resolve(
      g.stateDir ?? io.env.STRONGBOX_HELPER_HOME ?? path.join(homedir(), '.strongbox-helper'),
    );
    return { ...g, stateDir, serviceDir: path.resolve(g.serviceDir ?? path.join(stateDir, 'local-service')) };
  };
  const escrowOf = (g: ReturnType<typeof globals>) =>
    localDriveKeyEscrow({
      kekPath: path.join(g.serviceDir, 'escrow.kek'),
      dir: path.join(g.serviceDir, 'escrow'),
    });
  const serviceOf = (g: ReturnType<typeof globals>): ServiceClient => {
    const connectionString = g.connection ?? io.env.AzureWebJobsStorage;
    if (!connectionString) throw usage('no service connection: pass --connection or set AzureWebJobsStorage');
    return localServiceClient(localImportService({ connectionString, escrow: escrowOf(g) }));
  };
  const jobFile = (g: ReturnType<typeof globals>, name: string): string =>
    path.join(g.stateDir, 'jobs', `${name}.json`);
  const readJobs = async (g: ReturnType<typeof globals>): Promise<LocalJobRecord[]> => {
    const dir = path.join(g.stateDir, 'jobs');
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: LocalJobRecord[] = [];
    for (const n of names.filter((x) => x.endsWith('.json'))) {
      out.push(JSON.parse(await readFile(path.join(dir, n), 'utf8')) as LocalJobRecord);
    }
    return out;
  };
  const saveJob = async (g: ReturnType<typeof globals>, rec: LocalJobRecord): Promise<string> => {
    const file = jobFile(g, rec.name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
    return file;
  };
  const pickJob = async (
    jobs: LocalJobRecord[],
    explicit: string | undefined,
  ): Promise<LocalJobRecord | undefined> => {
    if (explicit !== undefined) return jobs.find((j) => j.name === explicit);
    if (jobs.length === 1) return jobs[0];
    if (jobs.length === 0 || !io.interactive) return undefined;
    const name = await prompter.select(
      'Which import job?',
      jobs.map((j) => j.name),
    );
    return jobs.find((j) => j.name === name);
  };

  program
    .command('diskprep')
    .description('prepare shipping drives from a staging directory (s:<dir>), or enter shipping details (u:)')
    .argument(
      '<targets...>',
      's:<staging dir> to prepare drives; u: [s:<staging dir>] to enter shipping details',
    )
    .option('--drive <dir>', 'a drive (mounted directory), in order; repeat for more drives', collect, [])
    .option('--capacity-bytes <n>', 'cap each drive at n bytes (tests)', positiveInt)
    .option('--job <name>', 'import job name')
    .option('--drive-index <n>', 're-prepare only this drive (after a failed import)', nonNegativeInt)
    .option('--storage-account <name>', 'destination storage account', 'devstoreaccount1')
    .option('--container <name>', 'destination container', 'seeding')
    .option('--yes', 'do not ask: overwrite non-empty drives, commit shipping details')
    .option('--carrier <name>')
    .option('--tracking-number <number>')
    .option('--return-address <text>')
    .action(async (targets: string[], o: Record<string, unknown>) => {
      const g = globals();
      const staging = targets.find((t) => t.startsWith('s:'))?.slice(2);
      if (targets.includes('u:')) {
        await shippingCommand(g, o, staging);
        return;
      }
      if (!staging) throw usage('diskprep needs s:<staging dir> (or u: for shipping details)');
      await prepCommand(g, o, path.resolve(staging));
    });

  async function prepCommand(
    g: ReturnType<typeof globals>,
    o: Record<string, unknown>,
    staging: string,
  ): Promise<void> {
    const drives = (o.drive as string[]).map((d) => path.resolve(d));
    const yes = o.yes === true;
    const existing = (await readJobs(g)).filter((j) => j.staging === staging);
    let jobName = o.job as string | undefined;
    if (jobName === undefined) {
      const picked = await pickJob(existing, undefined);
      jobName = picked?.name;
      if (jobName === undefined) {
        if (!io.interactive) throw usage('--job <name> is required (no job for this staging directory yet)');
        jobName = await prompter.input(
          'Name for the new import job',
          `seed-${new Date().toISOString().slice(0, 10)}`,
        );
      }
    }
    if (!JOB_NAME_PATTERN.test(jobName)) throw usage(`job name ${jobName}: use 3–63 of a-z, 0-9 and -`);
    const bar = progressBar();
    const result = await diskPrep({
      stagingDir: staging,
      jobName,
      escrow: escrowOf(g),
      ...(o.capacityBytes !== undefined ? { capacityBytes: o.capacityBytes as number } : {}),
      ...(o.driveIndex !== undefined ? { onlyDriveIndex: o.driveIndex as number } : {}),
      nextDrive: async ({ index, reason, filesRemaining, bytesRemaining }) => {
        const given = o.driveIndex !== undefined ? drives[0] : drives[index];
        if (given !== undefined) return given;
        if (!io.interactive) return undefined;
        bar.pause();
        const why = reason === 'full' ? 'The previous drive is full. ' : '';
        const answer = await prompter.input(
          `${why}Path of drive ${index} (${filesRemaining} files, ${human(bytesRemaining)} left; empty to stop)`,
        );
        bar.resume();
        return answer.trim() === '' ? undefined : path.resolve(answer.trim());
      },
      confirmOverwrite: async (dir, why) => {
        if (yes) return true;
        if (!io.interactive) return false;
        bar.pause();
        const ok = await prompter.confirm(
          `${dir} is not empty (${why}). Erase it and use it for this job?`,
          false,
        );
        bar.resume();
        return ok;
      },
      onDrive: (d) => {
        bar.pause();
        io.out(
          `drive ${d.index}: ${d.dir} (${d.resumed ? 'resuming' : 'new'}; ${d.files} files, ${human(d.bytes)})`,
        );
        bar.resume();
      },
      onProgress: (p) => bar.update(p),
    }).finally(() => bar.stop());
    const storageAccount = o.storageAccount as string;
    const container = o.container as string;
    const prior = existing.find((j) => j.name === jobName);
    const merged = new Map((prior?.drives ?? []).map((d) => [d.index, d]));
    for (const d of result.drives)
      merged.set(d.index, { index: d.index, dir: d.dir, driveId: d.driveId, keyId: d.keyId });
    const record: LocalJobRecord = {
      ...(prior ?? {}),
      name: jobName,
      staging,
      storageAccount,
      container,
      drives: [...merged.values()].sort((a, b) => a.index - b.index),
    };
    const file = await saveJob(g, record);
    io.out(
      `prepared ${result.drives.length} drive(s): ${result.filesCopied} files copied (${human(result.bytesCopied)}), ${result.filesSkipped} already complete`,
    );
    if (o.driveIndex === undefined) {
      const job = await serviceOf(g).createImportJob({
        name: jobName,
        storageAccount,
        container,
        drives: record.drives.map((d) => ({ driveId: d.driveId, keyId: d.keyId })),
      });
      io.out(
        `import job ${job.name}: ${job.state}; enter shipping details by ${job.shippingDeadline} (diskprep u:)`,
      );
    }
    io.out(`job record: ${file}`);
  }

  async function shippingCommand(
    g: ReturnType<typeof globals>,
    o: Record<string, unknown>,
    staging: string | undefined,
  ): Promise<void> {
    const jobs = (await readJobs(g)).filter(
      (j) => staging === undefined || j.staging === path.resolve(staging),
    );
    const rec = await pickJob(jobs, o.job as string | undefined);
    if (!rec) throw usage('no prepared job found: run diskprep s:<staging> first, or pass --job');
    const ask = async (flag: unknown, question: string): Promise<string> => {
      if (typeof flag === 'string') return flag;
      if (!io.interactive) throw usage(`${question} is required (flag missing)`);
      return prompter.input(question);
    };
    const carrier = await ask(o.carrier, 'Carrier');
    const trackingNumber = await ask(o.trackingNumber, 'Tracking number');
    const returnAddress = await ask(o.returnAddress, 'Return address');
    io.out('Review:');
    io.out(`  job             ${rec.name} (${rec.drives.length} drives)`);
    io.out(`  carrier         ${carrier}`);
    io.out(`  tracking number ${trackingNumber}`);
    io.out(`  return address  ${returnAddress}`);
    // Committing is deliberate: the tracking number becomes this job's for good.
    const typed = o.yes === true ? 'yes' : io.interactive ? await prompter.input('Type yes to commit') : '';
    if (typed.trim() !== 'yes') {
      io.err('not committed (type yes, or pass --yes)');
      exitCode = 1;
      return;
    }
    const job = await serviceOf(g).updateShipping(rec.name, { carrier, trackingNumber, returnAddress });
    const file = await saveJob(g, {
      ...rec,
      shipping: {
        carrier,
        trackingNumber: job.shipping?.trackingNumber ?? trackingNumber,
        returnAddress,
        savedAt: new Date().toISOString(),
      },
    });
    io.out(`import job ${job.name}: ${job.state}`);
    io.out(`shipping details saved to ${file}`);
  }

  program
    .command('backup')
    .description('back up a directory tree or disk image into a staging directory (with --offline)')
    .argument('<source>', 'directory tree or disk image file')
    .requiredOption('--offline', 'write to a local staging directory for offline seeding')
    .requiredOption('--staging <dir>', 'staging directory (a local vault)')
    .option('--disk-image', 'the source is a disk image, not a directory tree')
    .option(
      '--passphrase-file <file>',
      `file holding the vault passphrase (≥ ${MIN_PASSPHRASE_CHARS} characters)`,
    )
    .action(async (source: string, o: Record<string, unknown>) => {
      let passphrase: string;
      if (typeof o.passphraseFile === 'string') {
        passphrase = (await readFile(o.passphraseFile, 'utf8')).replace(/\r?\n$/, '');
      } else if (io.interactive) {
        passphrase = await prompter.password('Vault passphrase');
      } else {
        throw usage('--passphrase-file is required when not on a terminal');
      }
      const staging = path.resolve(o.staging as string);
      await mkdir(staging, { recursive: true });
      const store = new LocalDirBlobStore(staging);
      const keys = passphraseKeyProvider(passphrase);
      const fresh = (await store.stat('config')) === undefined;
      const vault = fresh ? await createVault(store, keys) : await openVault(store, keys);
      const bar = progressBar();
      const srcPath = path.resolve(source);
      await stat(srcPath);
      const res = await backup(
        vault,
        o.diskImage === true
          ? { kind: 'diskImage', path: srcPath }
          : { kind: 'directoryTree', path: srcPath },
        { onProgress: (p) => bar.update({ ...p, driveIndex: -1, file: '' }) },
      ).finally(() => bar.stop());
      io.out(
        `${fresh ? 'created vault and ' : ''}backed up ${human(res.bytesRead)} into ${staging}: point ${res.pointId}, ${human(res.bytesNewStored)} new`,
      );
    });

  function progressBar(): { update(p: DiskPrepProgress): void; pause(): void; resume(): void; stop(): void } {
    if (!io.interactive)
      return {
        update: () => undefined,
        pause: () => undefined,
        resume: () => undefined,
        stop: () => undefined,
      };
    const bar = new cliProgress.SingleBar(
      {
        format: ' {bar} {percentage}% | {done}/{size} | {rate}/s | ETA {eta_formatted}',
        etaBuffer: 50,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    let last: DiskPrepProgress | undefined;
    return {
      update(p) {
        last = p;
        if (!started) {
          bar.start(p.bytesTotal, p.bytesDone, {
            done: human(p.bytesDone),
            size: human(p.bytesTotal),
            rate: human(p.bytesPerSecond),
          });
          started = true;
        }
        bar.update(p.bytesDone, {
          done: human(p.bytesDone),
          size: human(p.bytesTotal),
          rate: human(p.bytesPerSecond),
        });
      },
      pause() {
        if (started) bar.stop();
        started = false;
      },
      resume() {
        if (last) this.update(last);
      },
      stop() {
        if (started) bar.stop();
        started = false;
      },
    };
  }

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof StrongboxError) {
      io.err(`strongbox-helper: ${err.code}: ${err.message}`);
      return err.code === OFFLINE_ERROR_CODES.INVALID_ARGUMENT ? 2 : 1;
    }
    if ((err as { name?: string }).name === 'ExitPromptError') {
      io.err('strongbox-helper: cancelled');
      return 1;
    }
    throw err;
  }
}
