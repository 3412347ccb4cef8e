#!/usr/bin/env node
// `npm run fabric -- <command>`: the local VM fabric's CLI (docs/fabric.md). The CLI is TypeScript
// (shared/fabric/fabricCli.ts). In a checkout with dev dependencies it runs from source, compiled in
// memory by @swc/core (the same transformer jest uses), so it can never run a stale build; without
// them (an installed package) it runs the compiled dist/shared/fabric/fabricCli.js.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const source = path.join(root, 'shared', 'fabric', 'fabricCli.ts');
const built = path.join(root, 'dist', 'shared', 'fabric', 'fabricCli.js');

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
    'fabric: neither the TypeScript source with @swc/core nor dist/ is available: run "npm run build"\n',
  );
  process.exit(1);
}
cli
  .main(process.argv, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
  })
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    process.stderr.write(`fabric: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
