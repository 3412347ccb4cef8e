#!/usr/bin/env node
// Entry point for `strongbox-host` (package.json "bin"). The host is TypeScript; this runs its
// compiled CLI from dist/.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const cli = path.join(__dirname, '..', 'dist', 'host', 'src', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(
    `strongbox-host: ${path.relative(process.cwd(), cli) || cli} is missing: run "npm run build" first\n`,
  );
  process.exit(1);
}
require(cli)
  .main(process.argv)
  .catch((err) => {
    process.stderr.write(`strongbox-host: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exit(1);
  });
