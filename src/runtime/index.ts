/** Wiring for embedding Lathe: the workspace (stores + executor) and loading a pipeline target. */

export { LocalExecutor, type LocalExecutorOptions } from '../executors/local-executor.js';
export { type LoadedTarget, loadTarget, refreshComponents } from './load-target.js';
export { openWorkspace, type Workspace, type WorkspaceOptions, workspaceHome } from './workspace.js';
