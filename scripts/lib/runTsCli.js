// Runs one of our TypeScript CLIs (the fabric CLI, the on-prem helper). In a checkout with dev
// dependencies it runs from source, compiled in memory by @swc/core (the transformer jest uses), so it
// can never run a stale build; without them (an installed package) it runs the compiled file in dist/.
// The CLI module exports `main(argv, io) → Promise<exit code>`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');

function loadFromSource(source) {
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

/**
 * @param {{ name: string, source: string, built: string, io?: Record<string, unknown> }} opts
 *   source and built are paths relative to the repository root; io is merged into main's io argument.
 */
function runTsCli({ name, source, built, io = {} }) {
  const sourcePath = path.join(root, source);
  const builtPath = path.join(root, built);
  const cli =
    (fs.existsSync(sourcePath) && loadFromSource(sourcePath)) ||
    (fs.existsSync(builtPath) ? require(builtPath) : undefined);
  if (!cli) {
    process.stderr.write(
      `${name}: neither the TypeScript source with @swc/core nor dist/ is available: run "npm run build"\n`,
    );
    process.exit(1);
  }
  cli
    .main(process.argv, {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      env: process.env,
      ...io,
    })
    .then((code) => {
      process.exitCode = code;
    })
    .catch((err) => {
      process.stderr.write(`${name}: ${err && err.stack ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    });
}

module.exports = { runTsCli };
