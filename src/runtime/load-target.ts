/**
 * Turns what the user names on the command line — a pipeline module (.ts/.js) or a compiled
 * spec (.yaml/.json) — into one validated spec whose TS components are loaded and whose
 * component digests reflect the code as it is now. Both paths end in the same spec, so
 * `lathe run pipeline.ts` and `lathe run pipeline.yaml` behave the same.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { isPipeline, type Pipeline } from '../dsl/pipeline.js';
import { LatheError, UsageError } from '../errors.js';
import { loadComponent } from '../executors/component-resolver.js';
import { importModule } from '../executors/module-loader.js';
import { canonicalJson } from '../spec/canonical.js';
import { compilePipeline, componentDigest, componentSpec, localFileHashes } from '../spec/compile.js';
import type { PipelineSpec } from '../spec/schema.js';

export interface LoadedTarget {
  spec: PipelineSpec;
  /** The file named by the user, absolute. */
  path: string;
  /** Working directory for command components. */
  baseDir: string;
}

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.tsx']);
const SPEC_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export async function loadTarget(target: string, options: { pipeline?: string } = {}): Promise<LoadedTarget> {
  const path = resolve(target);
  if (!existsSync(path)) throw new UsageError(`${target}: no such file`);
  const ext = extname(path);
  if (MODULE_EXTENSIONS.has(ext)) {
    const module = await importModule(path);
    const definition = pickPipeline(module, path, options.pipeline);
    const spec = compilePipeline(definition, { source: path });
    return { spec, path, baseDir: dirname(path) };
  }
  if (SPEC_EXTENSIONS.has(ext)) {
    // The YAML parser is loaded only for specs: it is start-up time a .ts run does not need.
    const { loadSpecFile } = await import('../spec/load.js');
    const spec = loadSpecFile(path);
    const baseDir = spec.source ? dirname(spec.source) : dirname(path);
    await refreshComponents(spec, baseDir);
    return { spec, path, baseDir };
  }
  throw new UsageError(`${target}: expected a pipeline module (.ts, .js) or a compiled spec (.yaml, .json)`);
}

/** The pipeline a module exports: `--pipeline NAME`, else the default export, else the only one. */
export function pickPipeline(module: Record<string, unknown>, path: string, name?: string): Pipeline<any> {
  const pipelines = Object.entries(module).filter(([, value]) => isPipeline(value)) as [
    string,
    Pipeline<any>,
  ][];
  if (name) {
    const found = pipelines.find(([exportName, p]) => p.name === name || exportName === name);
    if (!found) {
      throw new UsageError(
        `${path}: no pipeline named '${name}' (found: ${pipelines.map(([, p]) => p.name).join(', ') || 'none'})`,
      );
    }
    return found[1];
  }
  const byDefault = pipelines.find(([exportName]) => exportName === 'default');
  if (byDefault) return byDefault[1];
  if (pipelines.length === 1) return pipelines[0]![1];
  if (pipelines.length === 0) {
    throw new UsageError(`${path} exports no pipeline; export one with \`export default pipeline(...)\``);
  }
  throw new UsageError(
    `${path} exports several pipelines (${pipelines.map(([, p]) => p.name).join(', ')}); choose one with --pipeline NAME`,
  );
}

/**
 * Brings a loaded spec's component digests up to date with the code and files as they are now,
 * so a fixed bug is picked up (and re-keys the cache): TS components are re-digested from the
 * source module, command components re-hash the local files they run (from `baseDir`). A TS
 * component whose interface no longer matches the spec is an error: compile the spec again.
 */
export async function refreshComponents(spec: PipelineSpec, baseDir: string): Promise<void> {
  // A digest written in a spec file is never trusted: an edited command or env must re-key.
  for (const component of Object.values(spec.components)) {
    if (component.kind !== 'command') continue;
    if (component.files) component.files = localFileHashes([], Object.keys(component.files), baseDir);
    const { digest: _previous, ...identity } = component;
    component.digest = componentDigest(identity, undefined);
  }
  const tsComponents = Object.values(spec.components).filter((c) => c.kind === 'ts');
  if (tsComponents.length === 0) return;
  if (!spec.source) {
    throw new LatheError(
      'SPEC_NO_SOURCE',
      `the spec has TypeScript components (${tsComponents.map((c) => c.name).join(', ')}) but no 'source' module`,
    );
  }
  for (const component of tsComponents) {
    const definition = await loadComponent(component.name, spec.source);
    const fresh = componentSpec(definition, baseDir);
    const shape = (c: typeof fresh) =>
      canonicalJson({ params: c.params, inputs: c.inputs, outputs: c.outputs });
    if (shape(fresh) !== shape(component)) {
      throw new LatheError(
        'SPEC_STALE',
        `component '${component.name}' in ${spec.source} no longer matches the spec (its params, inputs or outputs changed); compile the spec again`,
      );
    }
    component.digest = fresh.digest;
  }
}
