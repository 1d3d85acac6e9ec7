/**
 * Loads the `--functions` file whatever the project it lives in:
 *
 * - `.mjs`, `.cjs`, and `.js` that follows its package's `type`: Node's own `import()`.
 * - `.js` with ES module syntax (`export`, `import`) in a CommonJS package (`"type":
 *   "commonjs"`, which `npm init` writes): Node would refuse it ("Unexpected token
 *   'export'"), so it is imported as an ES module through a module hook that sets the format
 *   of that one file.
 * - TypeScript (`.ts`, `.mts`, `.cts`): through tsx's `tsImport` when the project (or
 *   wsmesh's own location) has tsx installed: full TypeScript, any module format, nothing
 *   registered globally. Without tsx, Node's type stripping where this Node has it (22.18 and
 *   later); otherwise an error that says to install tsx.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileFunction } from 'node:vm';

/** Why a file could not be loaded, with what to do about it. */
export class ModuleLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModuleLoadError';
  }
}

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);

/** The query that marks a file the hook loads as an ES module. */
const AS_MODULE = 'wsmesh-format=module';

const HOOKS = `export async function load(url, context, nextLoad) {
  if (url.endsWith(${JSON.stringify(`?${AS_MODULE}`)})) {
    return nextLoad(url, { ...context, format: 'module' });
  }
  return nextLoad(url, context);
}`;

let hooksRegistered = false;

/** The `type` of the package a file belongs to (its nearest package.json), if it says one. */
export function packageType(path: string): string | undefined {
  let dir = dirname(path);
  for (;;) {
    try {
      const parsed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        type?: unknown;
      };
      return typeof parsed.type === 'string' ? parsed.type : undefined;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') return undefined;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * True when `source` only compiles as an ES module: it has `import`/`export` statements,
 * `import.meta` or top-level `await`, which a CommonJS function body cannot hold. The same
 * test Node applies to files of packages without a `type`.
 */
export function hasModuleSyntax(source: string): boolean {
  try {
    compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname']);
    return false;
  } catch (error) {
    return (
      error instanceof SyntaxError &&
      /Cannot use import statement outside a module|Unexpected token 'export'|Cannot use 'import\.meta' outside a module|await is only valid in async functions/.test(
        error.message,
      )
    );
  }
}

interface TsxApi {
  tsImport(specifier: string, parentUrl: string): Promise<unknown>;
}

/**
 * tsx's ES module API (`tsx/esm/api`, its `import` export) from the file's project, else from
 * where wsmesh is installed; undefined without tsx.
 */
async function findTsx(path: string): Promise<TsxApi | undefined> {
  for (const from of [path, import.meta.url]) {
    let manifest: string;
    try {
      manifest = createRequire(from).resolve('tsx/package.json');
    } catch {
      continue; // not installed there
    }
    const exports = (
      JSON.parse(readFileSync(manifest, 'utf8')) as {
        exports?: Record<string, { import?: { default?: unknown } | undefined } | undefined>;
      }
    ).exports;
    const entry = exports?.['./esm/api']?.import?.default;
    if (typeof entry !== 'string') continue;
    const api = (await import(
      pathToFileURL(join(dirname(manifest), entry)).href
    )) as Partial<TsxApi>;
    if (typeof api.tsImport === 'function') return api as TsxApi;
  }
  return undefined;
}

/** True when this Node strips TypeScript types by itself. */
function nodeStripsTypes(): boolean {
  return Boolean((process.features as { typescript?: unknown }).typescript);
}

/** Imports the module at the absolute `path`; rejects with the loader's error. */
export async function loadModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  const extension = extname(path).toLowerCase();
  if (TYPESCRIPT.has(extension)) {
    const tsx = await findTsx(path);
    if (tsx !== undefined) {
      return (await tsx.tsImport(
        url,
        pathToFileURL(join(dirname(path), 'index.js')).href,
      )) as Record<string, unknown>;
    }
    if (!nodeStripsTypes()) {
      throw new ModuleLoadError(
        `${path} is TypeScript: install tsx in the project (npm install -D tsx), or use Node 22.18 or later, which strips types by itself`,
      );
    }
    return (await import(url)) as Record<string, unknown>;
  }
  if (
    extension === '.js' &&
    packageType(path) === 'commonjs' &&
    hasModuleSyntax(readFileSync(path, 'utf8'))
  ) {
    if (!hooksRegistered) {
      register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
      hooksRegistered = true;
    }
    return (await import(`${url}?${AS_MODULE}`)) as Record<string, unknown>;
  }
  return (await import(url)) as Record<string, unknown>;
}
