/**
 * Finds a TS component by name, as a worker must: from the pipeline's source module alone.
 * Components register themselves when defined; one defined inside a pipeline body exists only
 * once that body has run, so when a name is missing after the import, the module's exported
 * pipelines are built (which runs their bodies, and does nothing else).
 */
import type { AnyComponent } from '../dsl/component.js';
import { isPipeline } from '../dsl/pipeline.js';
import { componentConflicts, lookupComponent } from '../dsl/registry.js';
import { ComponentNotFoundError, LatheError } from '../errors.js';
import { componentSpec } from '../spec/compile.js';
import { importModule } from './module-loader.js';

const builtModules = new Set<string>();

export async function loadComponent(name: string, source: string | undefined): Promise<AnyComponent> {
  if (!lookupComponent(name) && source) {
    const module = await importModule(source);
    if (!lookupComponent(name) && !builtModules.has(source)) {
      builtModules.add(source);
      for (const value of Object.values(module)) if (isPipeline(value)) value.build();
    }
  }
  const found = lookupComponent(name);
  if (!found) {
    throw new ComponentNotFoundError(name, source ?? 'this process (the spec names no source module)');
  }
  // The same definition evaluated twice (a body built again) is fine; two different ones are not.
  const all = componentConflicts(name);
  if (all && new Set(all.map((c) => componentSpec(c).digest)).size > 1) {
    throw new LatheError(
      'COMPONENT_AMBIGUOUS',
      `component '${name}' is defined more than once with different code or interfaces in ${source}; give each a unique name`,
    );
  }
  return found;
}
