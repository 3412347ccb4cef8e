#!/usr/bin/env node
// `npm test`: compile everything (type-checks tests too, and the host runs the compiled app),
// then run jest. Extra arguments go to jest: `npm test -- host/`.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const summary = path.join(root, '.strongbox', 'test-summary.txt');
fs.rmSync(summary, { force: true });

const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  fs.mkdirSync(path.dirname(summary), { recursive: true });
  fs.writeFileSync(summary, '0 passed, 1 failed\n');
  console.error('TypeScript compilation failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const jest = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(jest.status ?? 1);
