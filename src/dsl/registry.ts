/**
 * Components register themselves by name when their module is evaluated, so a worker that
 * imports the pipeline's source module can find any component from its spec entry alone.
 * The registry lives on globalThis so that two copies of the lathe package in one process
 * (a global CLI and a project's own dependency) still share it.
 */
import type { AnyComponent } from './component.js';

interface Registry {
  components: Map<string, AnyComponent>;
  /** Names defined more than once with different definitions: ambiguous, so unusable. */
  conflicts: Map<string, AnyComponent[]>;
}

const KEY = Symbol.for('lathe.registry');

function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  let found = holder[KEY];
  if (!found) {
    found = { components: new Map(), conflicts: new Map() };
    holder[KEY] = found;
  }
  return found;
}

export function registerComponent(component: AnyComponent): void {
  const { components, conflicts } = registry();
  const existing = components.get(component.name);
  if (existing && existing !== component) {
    const list = conflicts.get(component.name) ?? [existing];
    list.push(component);
    conflicts.set(component.name, list);
  }
  components.set(component.name, component);
}

export function lookupComponent(name: string): AnyComponent | undefined {
  return registry().components.get(name);
}

export function componentConflicts(name: string): AnyComponent[] | undefined {
  return registry().conflicts.get(name);
}
