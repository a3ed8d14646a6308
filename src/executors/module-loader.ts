/**
 * Imports a pipeline's source module. TypeScript modules are loaded through tsx's ESM hooks,
 * registered once per process and only when a .ts module is first needed (it costs start-up time).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LatheError } from '../errors.js';

let tsxRegistered: Promise<void> | undefined;

function needsTsx(path: string): boolean {
  return /\.(c|m)?tsx?$/.test(path);
}

const loaded = new Map<string, Promise<Record<string, unknown>>>();

export function importModule(path: string): Promise<Record<string, unknown>> {
  const absolute = resolve(path);
  let module = loaded.get(absolute);
  if (!module) {
    module = (async () => {
      if (needsTsx(absolute)) {
        tsxRegistered ??= import('tsx/esm/api').then(({ register }) => {
          register();
        });
        await tsxRegistered;
      }
      try {
        return (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
      } catch (error) {
        if (!existsSync(absolute)) {
          throw new LatheError('MODULE_NOT_FOUND', `cannot find the pipeline module ${absolute}`, {
            cause: error,
          });
        }
        // The module exists: something it imports is missing, or it does not parse or evaluate.
        // Node's message names the missing specifier and its importer; keep it.
        throw new LatheError('MODULE_LOAD', `cannot load ${absolute}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    })();
    loaded.set(absolute, module);
  }
  return module;
}
