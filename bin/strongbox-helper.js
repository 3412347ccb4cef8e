#!/usr/bin/env node
// Entry point for `strongbox-helper` (package.json "bin"; `npm run helper -- …`). The CLI is TypeScript
// (helper/src/cli.ts). In a checkout with dev dependencies it runs from source, compiled in memory by
// @swc/core (as scripts/fabric.js does), so it never runs a stale build; otherwise it runs dist/.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const source = path.join(root, 'helper', 'src', 'cli.ts');
const built = path.join(root, 'dist', 'helper', 'src', 'cli.js');

function loadFromSource() {
  let swc;
  try {
    swc = require('@swc/core');
  } catch {
    return undefined;
  }
  const nodeModules = path.join(root, 'node_modules') + path.sep;
  require.extensions['.ts'] = (module, filename) => {
    if (filename.startsWith(nodeModules)) throw new Error(`refusing to compile ${filename}`);
    const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
      filename,
      jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
      module: { type: 'commonjs' },
    });
    module._compile(code, filename);
  };
  return require(source);
}

const cli =
  (fs.existsSync(source) && loadFromSource()) || (fs.existsSync(built) ? require(built) : undefined);
if (!cli) {
  process.stderr.write(
    'strongbox-helper: neither the TypeScript source with @swc/core nor dist/ is available: run "npm run build"\n',
  );
  process.exit(1);
}
cli
  .main(process.argv, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
  })
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    process.stderr.write(`strongbox-helper: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
