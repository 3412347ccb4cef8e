#!/usr/bin/env node
// `npm test`: compile everything (type-checks tests too, and the host runs the compiled app), lint
// with type-aware ESLint, then run jest. Extra arguments go to jest: `npm test -- test/host`.
// A compile or lint failure counts as one failed test in the closing `N passed, N failed` line.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const summary = path.join(root, '.strongbox', 'test-summary.txt');
fs.rmSync(summary, { force: true });

function run(script, args) {
  return spawnSync(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' }).status;
}

// eslint's package exports hide its bin, so resolve it from the package folder.
const ESLINT_BIN = path.join(path.dirname(require.resolve('eslint/package.json')), 'bin', 'eslint.js');

function writeSummary(passed, failed) {
  const line = `${passed} passed, ${failed} failed`;
  fs.mkdirSync(path.dirname(summary), { recursive: true });
  fs.writeFileSync(summary, line + '\n');
  console.log(line);
}

if (run(require.resolve('typescript/bin/tsc'), ['-p', 'tsconfig.json']) !== 0) {
  console.error('TypeScript compilation failed');
  writeSummary(0, 1);
  process.exit(1);
}
const jestArgs = process.argv.slice(2);
// Lint the whole tree only for a full run; a focused run (`npm test -- path`) skips it.
const lintFailed = jestArgs.length === 0 && run(ESLINT_BIN, ['.']) !== 0;
if (lintFailed) console.error('ESLint reported errors (see above); the tests still run.');
const jestStatus = run(require.resolve('jest/bin/jest'), jestArgs);
if (lintFailed) {
  const [, passed = '0', failed = '0'] = /(\d+) passed, (\d+) failed/.exec(fs.existsSync(summary) ? fs.readFileSync(summary, 'utf8') : '') ?? [];
  writeSummary(Number(passed), Number(failed) + 1);
  process.exit(1);
}
process.exit(jestStatus ?? 1);
