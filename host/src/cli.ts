// `strongbox-host`: run a v4 Node Functions app locally without Core Tools.
//   strongbox-host start [appDir] [--port N]   serve the app (Ctrl-C stops it and exits 0)
//   strongbox-host keys [appDir]               print the host keys stored for the app
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_HTTP_PORT, HOST_VERSION, readStoredHostKeys, startHost, type RunningHost } from './host';

/** After a stop signal, give up waiting for a clean stop after this long. */
const STOP_DEADLINE_MS = 15_000;

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function message(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

async function start(appDir: string, opts: { port?: number }): Promise<void> {
  let host: RunningHost;
  try {
    host = await startHost({ appDir, ...(opts.port !== undefined ? { port: opts.port } : {}) });
  } catch (err) {
    process.stderr.write(`strongbox-host: ${message(err)}\n`);
    process.exit(1);
  }
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`strongbox-host: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`\nstrongbox-host: ${signal}, stopping...\n`);
    const deadline = setTimeout(() => {
      process.stderr.write('strongbox-host: stop took too long, exiting\n');
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    host.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`strongbox-host: error while stopping: ${message(err)}\n`);
        process.exit(0);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function keys(appDir: string): Promise<void> {
  try {
    const { hostId, keys: k, location } = await readStoredHostKeys(appDir);
    process.stdout.write(JSON.stringify({ hostId, location, ...k }, null, 2) + '\n');
  } catch (err) {
    process.stderr.write(`strongbox-host: ${message(err)}\n`);
    process.exit(1);
  }
}

export function buildCli(): Command {
  const program = new Command('strongbox-host')
    .description('Run an Azure Functions v4 Node app locally on Azurite, without Core Tools')
    .version(HOST_VERSION);
  program
    .command('start')
    .description('start the host for a Functions app folder')
    .argument('[appDir]', 'the app folder (host.json, package.json)', process.cwd())
    .option(
      '-p, --port <port>',
      `HTTP port (default: local.settings.json Host.LocalHttpPort, else ${DEFAULT_HTTP_PORT})`,
      parsePort,
    )
    .action(start);
  program
    .command('keys')
    .description("print the app's host keys (from AzureWebJobsStorage)")
    .argument('[appDir]', 'the app folder', process.cwd())
    .action(keys);
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  // User code can leave promises unhandled; log them instead of letting Node kill the host.
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`strongbox-host: unhandled rejection in the app: ${message(reason)}\n`);
  });
  await buildCli().parseAsync([...argv]);
}

if (require.main === module) void main();
