/** The provider conformance kit: the contract of `BackendProvider` as checks a plugin runs in its own tests. */
export type { ConformanceCheck, ConformanceEnv, ConformanceOptions, ConformanceOutcome, SamplingSetting } from './types.js';
export { conformanceChecks, CONFORMANCE_REPLY, CONFORMANCE_TRANSCRIPT } from './checks.js';
export { startConformanceEnv, type ConformanceSession } from './env.js';
export { describeProviderConformance } from './jest.js';
export { runConformance, type RunConformanceOptions } from './run.js';
export { ConformanceError } from './assert.js';
