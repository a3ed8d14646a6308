/**
 * A workspace is where a project's runs are recorded: `.lathe/` in the current directory by
 * default (or LATHE_HOME / --home). It wires the embedded defaults: SQLite metadata at
 * `.lathe/lathe.db`, artifacts in `.lathe/artifacts/`, and the local executor.
 * Store and executor choices are made here, by configuration, never inside the engine.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TaskExecutor } from '../engine/ports.js';
import { LatheError, UsageError } from '../errors.js';
import { LocalExecutor } from '../executors/local-executor.js';
import { removeStaleWorkDirs } from '../executors/work-dirs.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import { LocalArtifactStore } from '../store/local/local-artifact-store.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { SqliteMetadataStore } from '../store/sqlite/sqlite-metadata-store.js';

export interface Workspace {
  home: string;
  store: MetadataStore;
  artifacts: ArtifactStore;
  artifactRoot: string;
  executor: TaskExecutor;
  close(): Promise<void>;
}

export interface WorkspaceOptions {
  home?: string;
  /** Only open a workspace that exists (read-only commands, resume): never create one. */
  existing?: boolean;
  /** SIGTERM-to-SIGKILL grace for command components, in ms. */
  killGraceMs?: number;
}

export function workspaceHome(home?: string): string {
  return resolve(home ?? process.env.LATHE_HOME ?? '.lathe');
}

function killGraceFromEnv(): number {
  const raw = process.env.LATHE_KILL_GRACE_MS;
  if (raw === undefined || raw === '') return 5000;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new UsageError(`LATHE_KILL_GRACE_MS: '${raw}' must be a whole number of milliseconds`);
  }
  return value;
}

export function openWorkspace(options: WorkspaceOptions = {}): Workspace {
  if (options.home === '') throw new UsageError('--home: the workspace directory cannot be empty');
  const home = workspaceHome(options.home);
  if (existsSync(home) && !statSync(home).isDirectory()) {
    throw new UsageError(`workspace ${home} is a file, not a directory`);
  }
  const dbPath = resolve(home, 'lathe.db');
  if (options.existing && !existsSync(dbPath)) {
    throw new UsageError(`no Lathe workspace at ${home} (a run creates one; or pass --home DIR)`);
  }
  let store: SqliteMetadataStore;
  try {
    store = SqliteMetadataStore.open(dbPath);
  } catch (error) {
    throw new LatheError(
      'WORKSPACE_INVALID',
      `${dbPath} is not a usable Lathe database: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const artifactRoot = resolve(home, 'artifacts');
  const artifacts = new LocalArtifactStore(artifactRoot);
  const killGraceMs = options.killGraceMs ?? killGraceFromEnv();
  // Attempt scratch space on the artifacts' filesystem: outputs are stored by rename. Directories
  // a killed runner left behind are removed here, the next time the workspace is opened.
  const workRoot = resolve(home, 'work');
  removeStaleWorkDirs(workRoot);
  const executor = new LocalExecutor({
    artifacts,
    artifactRoot,
    killGraceMs,
    workRoot,
    registry: store.registry,
    metadataPath: dbPath,
  });
  return {
    home,
    store,
    artifacts,
    artifactRoot,
    executor,
    close: () => store.close(),
  };
}
