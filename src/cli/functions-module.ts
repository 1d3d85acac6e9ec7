/**
 * `--functions ./module.js`: loads an ES module, a CommonJS file or a TypeScript file (see
 * load-module.ts) and shares its exported functions over RPC in one namespace, each under its
 * export name. A default export that is a function is shared under its own name; a default
 * export that is an object (`module.exports = { ... }`) shares its function members.
 * @module
 */
import type { AnyFunction } from '../rpc/function-info.js';
import { usageError } from './exit.js';
import { loadModule } from './load-module.js';

/** What registers a function (the server's `origin`). */
export type Register = (fn: AnyFunction, options: { namespace: string; name: string }) => unknown;

function collect(module: Record<string, unknown>): [string, AnyFunction][] {
  const found = new Map<string, AnyFunction>();
  for (const [name, value] of Object.entries(module)) {
    if (name === 'default' || typeof value !== 'function') continue;
    found.set(name, value as AnyFunction);
  }
  const fallback = module['default'];
  if (typeof fallback === 'function' && fallback.name !== '' && !found.has(fallback.name)) {
    found.set(fallback.name, fallback as AnyFunction);
  } else if (typeof fallback === 'object' && fallback !== null) {
    for (const [name, value] of Object.entries(fallback)) {
      if (typeof value === 'function' && !found.has(name)) found.set(name, value as AnyFunction);
    }
  }
  return [...found];
}

/** Loads `path` and registers its functions in `namespace`; returns their names. */
export async function registerModuleFunctions(
  path: string,
  namespace: string,
  register: Register,
): Promise<string[]> {
  let module: Record<string, unknown>;
  try {
    module = await loadModule(path);
  } catch (error) {
    throw usageError(
      `cannot load --functions ${path}: ${error instanceof Error ? error.message : String(error)}`,
      'start',
    );
  }
  const functions = collect(module);
  if (functions.length === 0) {
    throw usageError(`--functions ${path} exports no functions`, 'start');
  }
  for (const [name, fn] of functions) {
    try {
      register(fn, { namespace, name });
    } catch (error) {
      throw usageError(
        `cannot share "${name}" from ${path}: ${error instanceof Error ? error.message : String(error)}`,
        'start',
      );
    }
  }
  return functions.map(([name]) => name).sort();
}
