/** The run engine and its ports, for embedding Lathe or writing an executor. */

export { LocalExecutor } from '../executors/local-executor.js';
export { loadTarget } from '../runtime/load-target.js';
export { openWorkspace, type Workspace } from '../runtime/workspace.js';
export { cacheKey, retryDelayMs } from './decisions.js';
export * from './ports.js';
export { type EngineOptions, newRunId, resumeRun, startRun } from './run-engine.js';
