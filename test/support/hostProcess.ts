// Runs the compiled host (`node dist/host/src/cli.js start <appDir>`) as a child process for
// integration tests: waits until the admin status endpoint answers, keeps its output for
// assertions, and stops it by PID (SIGTERM, then SIGKILL after 5 s). Run `npx tsc -p tsconfig.json`
// first: the tests spawn the compiled host.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../../host/src/azurite/azuriteProcess';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const HOST_CLI = path.join(REPO_ROOT, 'dist', 'host', 'src', 'cli.js');
/** The master key every test host uses, so tests can call the admin API. */
export const TEST_MASTER_KEY = 'test-master-key-0123456789abcdef';
const READY_TIMEOUT_MS = 30_000;
const KILL_GRACE_MS = 5000;

export interface HostProcessOptions {
  readonly appDir: string;
  /** Default: a free port. Reuse a port to restart "the same" host. */
  readonly port?: number;
  /** Extra environment (wins over the defaults below). */
  readonly env?: Record<string, string>;
  /** Azurite's connection string; becomes AzureWebJobsStorage. */
  readonly connectionString: string;
  readonly readyTimeoutMs?: number;
}

export interface HostProcess {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  readonly pid: number;
  readonly masterKey: string;
  /** Everything the host wrote to stdout and stderr so far. */
  logs(): string;
  /** Sends a signal (default SIGTERM) and resolves with the exit code once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Resolves when some line of output matches (polls the captured logs). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** fetch() against the host, with the master key unless `headers` carries another. */
  fetch(pathAndQuery: string, init?: RequestInit): Promise<Response>;
}

export class HostProcessError extends Error {
  readonly code = 'TEST.HOST_PROCESS';
}

export async function startHostProcess(options: HostProcessOptions): Promise<HostProcess> {
  if (!fs.existsSync(HOST_CLI)) {
    throw new HostProcessError(`${HOST_CLI} is missing: run "npx tsc -p tsconfig.json" before the tests`);
  }
  const port = options.port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [HOST_CLI, 'start', options.appDir, '--port', String(port)],
    {
      cwd: options.appDir,
      env: {
        ...process.env,
        AzureWebJobsStorage: options.connectionString,
        STRONGBOX_HOST_MASTER_KEY: TEST_MASTER_KEY,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new HostProcessError('Could not spawn the host');
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString('utf8')));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );

  const hostFetch = (pathAndQuery: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (!headers.has('x-functions-key') && !/[?&]code=/.test(pathAndQuery)) {
      headers.set('x-functions-key', options.env?.STRONGBOX_HOST_MASTER_KEY ?? TEST_MASTER_KEY);
    }
    return fetch(baseUrl + pathAndQuery, { ...init, headers });
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (exitCode !== undefined) return exitCode;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
    return exited;
  };

  const stop = async (): Promise<void> => {
    if (exitCode !== undefined) return;
    const force = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, KILL_GRACE_MS);
    await kill('SIGTERM');
    clearTimeout(force);
  };

  const waitForLog = async (pattern: RegExp, timeoutMs = 15_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = output.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (Date.now() > deadline) {
        throw new HostProcessError(
          `No log line matched ${String(pattern)} within ${timeoutMs} ms. Logs:\n${output}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? READY_TIMEOUT_MS);
  for (;;) {
    if (exitCode !== undefined) {
      throw new HostProcessError(
        `The host exited with code ${String(exitCode)} during startup. Logs:\n${output}`,
      );
    }
    try {
      const res = await hostFetch('/admin/host/status');
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new HostProcessError(`The host was not ready within the timeout. Logs:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    port,
    baseUrl,
    pid,
    masterKey: options.env?.STRONGBOX_HOST_MASTER_KEY ?? TEST_MASTER_KEY,
    logs: () => output,
    kill,
    stop,
    waitForLog,
    fetch: hostFetch,
  };
}

/** Spawns the host for an app that must fail at startup; resolves with its exit code and output. */
export async function runHostExpectingFailure(
  options: Omit<HostProcessOptions, 'readyTimeoutMs'>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; output: string }> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [HOST_CLI, 'start', options.appDir, '--port', String(port)], {
    cwd: options.appDir,
    env: { ...process.env, AzureWebJobsStorage: options.connectionString, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, output };
}
