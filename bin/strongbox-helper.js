#!/usr/bin/env node
// Entry point for `strongbox-helper` (package.json "bin"; `npm run helper -- …`): helper/src/cli.ts.
'use strict';
require('../scripts/lib/runTsCli').runTsCli({
  name: 'strongbox-helper',
  source: 'helper/src/cli.ts',
  built: 'dist/helper/src/cli.js',
  io: { interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY) },
});
