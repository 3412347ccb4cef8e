/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/shared', '<rootDir>/host', '<rootDir>/functions', '<rootDir>/helper'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/test/fixtures/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/test/fixtures/'],
  reporters: ['default', '<rootDir>/scripts/summaryReporter.js'],
  testTimeout: 60000,
  maxWorkers: 2,
};
