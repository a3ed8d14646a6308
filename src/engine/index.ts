/** The run engine and its ports, for embedding Lathe or writing an executor or a store. */

export { cacheKey, retryDelayMs } from './decisions.js';
export * from './ports.js';
export { type EngineOptions, newRunId, resumeRun, startRun } from './run-engine.js';
