const fs = require('node:fs');
const path = require('node:path');

// Folders that hold tests; an empty one is not in git, so list only those that exist.
const roots = ['test', 'shared', 'host', 'functions', 'helper'].filter((d) => fs.existsSync(path.join(__dirname, d)));

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: roots.map((d) => `<rootDir>/${d}`),
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/test/fixtures/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/test/fixtures/'],
  reporters: ['default', '<rootDir>/scripts/summaryReporter.js'],
  testTimeout: 60000,
  maxWorkers: 2,
};
