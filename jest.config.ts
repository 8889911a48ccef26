import { availableParallelism } from 'node:os';
import type { Config } from 'jest';

// Tests run from TypeScript sources (ts-jest, ESM). Workspace packages are
// mapped to their sources so a test never depends on a stale build; the
// end-to-end test uses the built and packed packages instead.
const config: Config = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/packages', '<rootDir>/plugins', '<rootDir>/e2e', '<rootDir>/suites', '<rootDir>/bench', '<rootDir>/examples'],
  testMatch: ['**/src/**/*.test.ts', '<rootDir>/examples/*.test.ts', '<rootDir>/e2e/**/*.test.ts', '<rootDir>/suites/**/*.test.ts', '<rootDir>/bench/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/plugins/.*/dist/', '<rootDir>/packages/.*/dist/'],
  moduleNameMapper: {
    '^@aegis/core$': '<rootDir>/packages/core/src/index.ts',
    '^@aegis/testkit$': '<rootDir>/packages/testkit/src/index.ts',
    '^@aegis/cli$': '<rootDir>/packages/cli/src/index.ts',
    '^@aegis/gateway$': '<rootDir>/packages/gateway/src/index.ts',
    '^@aegis/provider-([a-z0-9-]+)$': '<rootDir>/plugins/$1/src/index.ts',
    '^aegis-provider-example-com$': '<rootDir>/plugins/example-com/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  // A ceiling for a test that hangs, not a measure: a loaded 2-core machine runs a 5 s test
  // several times slower, and a test must never fail for that (suites/README.md, "Timing").
  testTimeout: 120_000,
  // Jest's default is one worker per core but one, i.e. a single worker on a 2-core machine.
  // Much of the run waits (npm in the e2e tests, sockets, timers), so two workers there fill
  // both cores; no test depends on running alone (suites/README.md, "Timing").
  maxWorkers: Math.max(2, availableParallelism() - 1),
};

export default config;
