/**
 * Runs that are not pipeline runs (a tracked experiment, a `lathe serve` process): the store ops
 * that open one, and the single task its artifacts are outputs of (artifacts hang off tasks).
 */
import { hostname } from 'node:os';
import type { StoreOp, TaskRecord } from './metadata-store.js';

export interface StandaloneRun {
  id: string;
  /** Stands in for the pipeline: `lathe runs list --pipeline NAME` lists these runs. */
  name: string;
  digest: string;
  spec: unknown;
  params: Record<string, unknown>;
  source: string | null;
}

/** putPipeline + putRun of a running standalone run, owned by this process. */
export function openStandaloneRunOps(run: StandaloneRun, now = Date.now()): StoreOp[] {
  return [
    { op: 'putPipeline', pipeline: { digest: run.digest, name: run.name, spec: run.spec, createdAt: now } },
    {
      op: 'putRun',
      run: {
        id: run.id,
        pipelineDigest: run.digest,
        pipelineName: run.name,
        params: run.params,
        status: 'running',
        source: run.source,
        createdAt: now,
        startedAt: now,
        finishedAt: null,
        error: null,
        runnerPid: process.pid,
        runnerHost: hostname(),
      },
    },
  ];
}

/** The running task `${runId}/${name}` of a standalone run. */
export function standaloneTask(
  runId: string,
  name: string,
  component: string,
  params: Record<string, unknown> | null,
  now = Date.now(),
): TaskRecord {
  return {
    id: `${runId}/${name}`,
    runId,
    name,
    specTask: name,
    component,
    status: 'running',
    attempts: 1,
    cacheKey: null,
    cachedFrom: null,
    params,
    outputs: null,
    startedAt: now,
    finishedAt: null,
    exitCode: null,
    error: null,
    errorStack: null,
    reason: null,
  };
}
