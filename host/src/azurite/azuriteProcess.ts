// Starts Azurite from node_modules as a child process on free loopback ports and stops it by PID.
// Used by `npm start`, the integration tests and the benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const READY_TIMEOUT_MS = 30_000;

export interface AzuriteOptions {
  /** Folder for persistent data. Omit for in-memory persistence (the two cannot be combined). */
  location?: string;
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  /** Inherit stdio (for `npm start`); default is to discard Azurite's output. */
  verbose?: boolean;
}

export interface AzuriteInstance {
  readonly pid: number;
  readonly blobPort: number;
  readonly queuePort: number;
  readonly tablePort: number;
  readonly connectionString: string;
  stop(): Promise<void>;
}

export function connectionStringFor(blobPort: number, queuePort: number, tablePort: number): string {
  const base = `http://127.0.0.1`;
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${AZURITE_ACCOUNT_NAME}`,
    `AccountKey=${AZURITE_ACCOUNT_KEY}`,
    `BlobEndpoint=${base}:${blobPort}/${AZURITE_ACCOUNT_NAME}`,
    `QueueEndpoint=${base}:${queuePort}/${AZURITE_ACCOUNT_NAME}`,
    `TableEndpoint=${base}:${tablePort}/${AZURITE_ACCOUNT_NAME}`,
  ].join(';');
}

/** Asks the kernel for a free port on loopback. A small race remains until Azurite binds it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

function azuriteEntry(): string {
  return require.resolve('azurite/dist/src/azurite.js');
}

/** Start-up attempts when Azurite exits at once on ports we picked (another process took one). */
const START_ATTEMPTS = 3;

export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const pickedPorts =
    options.blobPort === undefined || options.queuePort === undefined || options.tablePort === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      // freePort() only found the ports free a moment ago: a process started in between (parallel
      // test workers start Azurites and hosts of their own) can take one. Azurite then exits with
      // EADDRINUSE; new ports fix that. A start that timed out is not retried.
      if (!(err instanceof AzuriteExitedError) || !pickedPorts || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

class AzuriteExitedError extends Error {}

async function startOnce(options: AzuriteOptions): Promise<AzuriteInstance> {
  const blobPort = options.blobPort ?? (await freePort());
  const queuePort = options.queuePort ?? (await freePort());
  const tablePort = options.tablePort ?? (await freePort());
  const args = [
    azuriteEntry(),
    '--silent',
    // Telemetry is on by default and would try to reach the internet.
    '--disableTelemetry',
    // storage-blob 12.3x sends an x-ms-version newer than Azurite accepts.
    '--skipApiVersionCheck',
    '--loose',
    '--blobHost',
    '127.0.0.1',
    '--queueHost',
    '127.0.0.1',
    '--tableHost',
    '127.0.0.1',
    '--blobPort',
    String(blobPort),
    '--queuePort',
    String(queuePort),
    '--tablePort',
    String(tablePort),
  ];
  if (options.location) {
    fs.mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: options.verbose ? 'inherit' : ['ignore', 'ignore', 'pipe'],
    detached: false,
  });
  // The last of stderr, to say why Azurite exited during start-up.
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-2000);
  });
  // Reading it must not keep this process alive on its own (the ignored stdio did not).
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      const why = stderrTail.trim().split('\n').slice(-3).join(' | ');
      throw new AzuriteExitedError(
        `Azurite exited during startup (ports ${blobPort}/${queuePort}/${tablePort})${why ? `: ${why}` : ''}`,
      );
    }
    const ok = await Promise.all([answers(blobPort), answers(queuePort), answers(tablePort)]);
    if (ok.every(Boolean)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Azurite did not become ready within ${READY_TIMEOUT_MS} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid ?? -1;
  return {
    pid,
    blobPort,
    queuePort,
    tablePort,
    connectionString: connectionStringFor(blobPort, queuePort, tablePort),
    async stop() {
      if (exited) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 5000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
