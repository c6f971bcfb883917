// One jest run for the whole repo: unit tests beside the code, integration and
// e2e tests under test/. ts-jest transpiles only (type checking is `tsc -b`).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/web', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  moduleNameMapper: { '^@tiertalk/([a-z-]+)$': '<rootDir>/libs/$1/src' },
  testTimeout: 30000,
  maxWorkers: 1,
};
