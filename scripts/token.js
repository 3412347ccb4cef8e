#!/usr/bin/env node
// `npm run token -- --principal <id> --role <role> --scope <scope> [--no-assign]`: prints a bearer token
// for the LOCAL service and records the role assignment (see docs/api.md). Reads local.settings.json
// Values like the host does (an environment variable of the same name wins), so it talks to the same
// storage account and key directory as `npm start`. The logic is shared/auth/tokenCli.ts, run compiled.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'shared', 'auth', 'tokenCli.js');
if (!fs.existsSync(compiled)) {
  process.stderr.write('npm run token: run "npm run build" (or npm start) first; dist/ is missing.\n');
  process.exit(1);
}

const env = { ...process.env };
const settingsFile = path.join(root, 'local.settings.json');
if (fs.existsSync(settingsFile)) {
  const values = JSON.parse(fs.readFileSync(settingsFile, 'utf8')).Values ?? {};
  for (const [name, value] of Object.entries(values)) if (env[name] === undefined) env[name] = String(value);
} else if (env.AzureWebJobsStorage === undefined) {
  // Same default as the sample settings: Azurite on its well-known ports.
  env.AzureWebJobsStorage = 'UseDevelopmentStorage=true';
}

const { runTokenCli } = require(compiled);
runTokenCli(process.argv.slice(2), {
  env,
  appRoot: root,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
}).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
