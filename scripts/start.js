#!/usr/bin/env node
// `npm start`: build, then run Azurite (data kept in .azurite/) and the Strongbox Functions app on
// our own host at http://localhost:7071. Ctrl-C stops both and exits 0.
//   npm start -- --port 7072      use another HTTP port
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.join(__dirname, '..');
/** Azurite's well-known ports; used when all three are free so tools like Storage Explorer just work. */
const AZURITE_DEFAULT_PORTS = { blobPort: 10000, queuePort: 10001, tablePort: 10002 };
const DEFAULT_PORT = 7071;

function fail(message) {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  let port = DEFAULT_PORT;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port' || argv[i] === '-p') {
      port = Number(argv[++i]);
      if (!Number.isInteger(port) || port <= 0 || port > 65535) fail('--port needs a port number');
    }
  }
  return { port };
}

function isFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function azuritePorts() {
  const free = await Promise.all(Object.values(AZURITE_DEFAULT_PORTS).map(isFree));
  if (free.every(Boolean)) return AZURITE_DEFAULT_PORTS;
  process.stdout.write('Azurite ports 10000-10002 are taken; using free ports instead.\n');
  return {};
}

async function main() {
  const { port } = parseArgs(process.argv.slice(2));

  process.stdout.write('Building (tsc -p tsconfig.build.json)...\n');
  const tsc = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) fail('the build failed (see the errors above)');

  const settings = path.join(root, 'local.settings.json');
  const sample = path.join(root, 'local.settings.sample.json');
  if (!fs.existsSync(settings) && fs.existsSync(sample)) {
    fs.copyFileSync(sample, settings);
    process.stdout.write('Created local.settings.json from local.settings.sample.json\n');
  }

  const { startAzurite } = require(path.join(root, 'dist', 'host', 'src', 'azurite', 'azuriteProcess.js'));
  const { startHost } = require(path.join(root, 'dist', 'host', 'src', 'host.js'));

  // Azurite only when no real storage is configured: an environment variable wins over
  // local.settings.json, as in Core Tools, and UseDevelopmentStorage=true means "local emulator".
  const configured = configuredStorage(settings);
  const azurite = configured
    ? undefined
    : await startAzurite({ location: path.join(root, '.azurite'), ...(await azuritePorts()) });
  const connectionString = configured ?? azurite.connectionString;
  let host;
  try {
    host = await startHost({ appDir: root, port, connectionString });
  } catch (err) {
    if (azurite) await azurite.stop();
    const hint = fs.existsSync(path.join(root, 'dist', 'functions', 'index.js'))
      ? ''
      : '\n(dist/functions/index.js does not exist: functions/ has no code yet, or it did not build)';
    fail(`${err && err.code ? `${err.code}: ` : ''}${err && err.message ? err.message : String(err)}${hint}`);
  }

  const base = `http://localhost:${host.port}`;
  process.stdout.write(
    [
      '',
      'Strongbox is running:',
      `  App:      ${base}`,
      `  Health:   ${base}/api/health`,
      `  Admin:    ${base}/admin/host/status (x-functions-key: master key; see "Host keys" above)`,
      azurite
        ? `  Azurite:  blob http://127.0.0.1:${azurite.blobPort}  queue http://127.0.0.1:${azurite.queuePort}  table http://127.0.0.1:${azurite.tablePort}  (data in .azurite/)`
        : `  Storage:  ${storageAccountName(connectionString)} (from AzureWebJobsStorage; Azurite not started)`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the host${azurite ? ' and Azurite' : ''}...\n`);
    try {
      await host.stop();
    } finally {
      if (azurite) await azurite.stop();
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** The storage connection string to use instead of Azurite, or undefined to start Azurite. */
function configuredStorage(settingsFile) {
  let value = process.env.AzureWebJobsStorage;
  if (value === undefined && fs.existsSync(settingsFile)) {
    const values = JSON.parse(fs.readFileSync(settingsFile, 'utf8')).Values || {};
    value = values.AzureWebJobsStorage;
  }
  if (!value || /^\s*UseDevelopmentStorage\s*=\s*true\s*$/i.test(value)) return undefined;
  return value;
}

function storageAccountName(connectionString) {
  const match = /AccountName=([^;]+)/i.exec(connectionString);
  return match ? `account ${match[1]}` : 'the configured account';
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
