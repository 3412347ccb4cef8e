#!/usr/bin/env node
// `npm run fabric -- <command>`: the local VM fabric's CLI (docs/fabric.md), shared/fabric/fabricCli.ts.
'use strict';
require('./lib/runTsCli').runTsCli({
  name: 'fabric',
  source: 'shared/fabric/fabricCli.ts',
  built: 'dist/shared/fabric/fabricCli.js',
});
