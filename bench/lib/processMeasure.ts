// Runs one timed step as a child process under GNU time (`/usr/bin/time -v`), so every tool's peak
// RSS and CPU come from the same kernel accounting (getrusage of the child), plus host-side helpers:
// dropping the page cache and sizing a repository the way performance.md did (`du -sb`).
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const GNU_TIME = '/usr/bin/time';
const DROP_CACHES = '/proc/sys/vm/drop_caches';

export interface Measured {
  wallMs: number;
  userMs: number;
  sysMs: number;
  /** Peak resident set size of the measured process, bytes. */
  maxRssBytes: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A scratch file for GNU time's report. */
  timeReport: string;
}

export class StepFailedError extends Error {}

function field(report: string, label: string): number {
  const line = report.split('\n').find((l) => l.trim().startsWith(label));
  const value = line?.slice(line.lastIndexOf(':') + 1).trim();
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n)) throw new Error(`GNU time report has no '${label}'`);
  return n;
}

/** Runs `cmd args` to completion; throws StepFailedError (with its stderr) on a non-zero exit. */
export async function runMeasured(cmd: string, args: readonly string[], opts: RunOptions): Promise<Measured> {
  const started = performance.now();
  const child = spawn(GNU_TIME, ['-v', '-o', opts.timeReport, cmd, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const wallMs = performance.now() - started;
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  if (code !== 0) {
    throw new StepFailedError(
      `${path.basename(cmd)} ${args.join(' ')} exited with ${code}:\n${stderr.slice(-4000)}`,
    );
  }
  const report = await readFile(opts.timeReport, 'utf8');
  await rm(opts.timeReport, { force: true });
  return {
    wallMs,
    userMs: field(report, 'User time (seconds)') * 1000,
    sysMs: field(report, 'System time (seconds)') * 1000,
    maxRssBytes: field(report, 'Maximum resident set size (kbytes)') * 1024,
    stdout,
    stderr,
  };
}

export function gnuTimeAvailable(): boolean {
  return existsSync(GNU_TIME);
}

/** Runs a command and returns its stdout; for untimed setup. */
export async function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const { stdout } = await execFileAsync(cmd, [...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** `sync; echo 3 > /proc/sys/vm/drop_caches`. Returns false (once noted by the caller) if not allowed. */
export async function dropCaches(): Promise<boolean> {
  await run('sync', []);
  try {
    writeFileSync(DROP_CACHES, '3');
    return true;
  } catch {
    return false;
  }
}

/** Milliseconds a `sync` takes: the dirty pages a step left behind. */
export async function timeSync(): Promise<number> {
  const t = performance.now();
  await run('sync', []);
  return performance.now() - t;
}

/** Apparent size of a directory tree in bytes, as `du -sb` (performance.md's repository sizes). */
export async function duBytes(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  const out = await run('du', ['-sb', dir]);
  const n = Number(out.split('\t')[0]);
  if (!Number.isFinite(n)) throw new Error(`du -sb ${dir} printed '${out}'`);
  return n;
}

/** CPU seconds (user + system) a running process has used so far, from /proc/<pid>/stat. */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (clock ticks).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    const TICKS_PER_SECOND = 100; // CONFIG_HZ-independent USER_HZ on Linux
    return (ticks / TICKS_PER_SECOND) * 1000;
  } catch {
    return undefined;
  }
}
