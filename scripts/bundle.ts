/**
 * Bundles the browser client (src/browser.ts) with esbuild: one ESM entry,
 * `wsmesh-client.js`, plus chunks it loads itself (MessagePack is a separate chunk, fetched
 * only when a client asks for `codec: 'msgpack'`).
 *
 * `npm run bundle` writes dist/wsmesh-client.js (+ dist/chunks/) and prints the sizes. The
 * demo and the browser tests call {@link bundleBrowserClient} with `write: false` and serve
 * the files from memory.
 * @module
 */
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Name of the bundle's entry file. */
export const BUNDLE_ENTRY = 'wsmesh-client.js';

/** One output file of the bundle. */
export interface BundleFile {
  /** Path relative to the output folder, with `/` separators (e.g. `chunks/msgpack-X.js`). */
  path: string;
  contents: Uint8Array;
  /** Loaded by the entry up front (the entry itself and the chunks it imports statically). */
  eager: boolean;
  /** Gzipped size (level 9). */
  gzipBytes: number;
}

/** Options of {@link bundleBrowserClient}. */
export interface BundleOptions {
  /** Output folder. Default `dist` of the repository. */
  outdir?: string;
  /** Write the files (default true); false only returns them. */
  write?: boolean;
  /** Minify (default true). */
  minify?: boolean;
}

/** Builds the browser bundle. Resolves with its files, the entry first. */
export async function bundleBrowserClient(options: BundleOptions = {}): Promise<BundleFile[]> {
  const outdir = resolve(options.outdir ?? join(root, 'dist'));
  const write = options.write ?? true;
  // Chunk names carry a hash: drop the previous build's so stale ones are not shipped.
  if (write) rmSync(join(outdir, 'chunks'), { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { 'wsmesh-client': join(root, 'src/browser.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? true,
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    write,
    logLevel: 'warning',
    legalComments: 'none',
  });
  const outputs = new Map<string, Uint8Array>();
  for (const file of result.outputFiles ?? []) outputs.set(resolve(file.path), file.contents);
  for (const key of Object.keys(result.metafile.outputs)) {
    const path = resolve(root, key);
    if (!outputs.has(path)) outputs.set(path, readFileSync(path));
  }
  const eager = eagerOutputs(result.metafile, join(outdir, BUNDLE_ENTRY));
  checkContents(result.metafile, eager);
  return [...outputs]
    .map(([path, contents]) => ({
      path: relative(outdir, path).split(sep).join('/'),
      contents,
      eager: eager.has(path),
      gzipBytes: gzipSync(contents, { level: 9 }).byteLength,
    }))
    .sort((a, b) => Number(b.path === BUNDLE_ENTRY) - Number(a.path === BUNDLE_ENTRY));
}

/**
 * The browser client may contain only wsmesh's own code and, in a chunk loaded on demand,
 * msgpackr. (Node built-ins already fail the build on the browser platform; `ws` would not,
 * since its browser stub resolves.)
 */
function checkContents(metafile: Metafile, eager: Set<string>): void {
  const foreign = Object.keys(metafile.inputs).filter(
    (input) => input.includes('node_modules/') && !input.includes('node_modules/msgpackr/'),
  );
  if (foreign.length > 0)
    throw new Error(`The browser client must not bundle ${foreign.join(', ')}`);
  for (const [key, output] of Object.entries(metafile.outputs)) {
    if (!eager.has(resolve(root, key))) continue;
    const msgpackr = Object.keys(output.inputs).filter((input) => input.includes('msgpackr'));
    if (msgpackr.length > 0)
      throw new Error(`msgpackr must be loaded on demand, but ${key} includes it up front`);
  }
}

/** Absolute paths of the outputs loaded up front: the entry and its static imports. */
function eagerOutputs(metafile: Metafile, entry: string): Set<string> {
  const seen = new Set<string>();
  const byPath = new Map(
    Object.entries(metafile.outputs).map(([key, o]) => [resolve(root, key), o]),
  );
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const imported of byPath.get(path)?.imports ?? []) {
      if (imported.kind === 'import-statement') visit(resolve(root, imported.path));
    }
  };
  visit(entry);
  return seen;
}

/**
 * Answers a GET for one of the bundle's files (`/wsmesh-client.js`, `/chunks/...`), with
 * `prefix` before the file names. Returns false for other paths.
 */
export function serveBundleFile(
  files: readonly BundleFile[],
  pathname: string,
  response: ServerResponse,
  prefix = '/',
): boolean {
  if (!pathname.startsWith(prefix)) return false;
  const file = files.find((candidate) => candidate.path === pathname.slice(prefix.length));
  if (file === undefined) return false;
  response.writeHead(200, {
    'content-type': 'text/javascript; charset=utf-8',
    'content-length': file.contents.byteLength,
    'cache-control': 'no-store',
  });
  response.end(file.contents);
  return true;
}

/** Human-readable size. */
function kB(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

/** Prints the bundle's files and the size a page pays up front. */
export function describeBundle(files: BundleFile[]): string {
  const lines = files.map(
    (file) =>
      `  ${file.path.padEnd(36)} ${kB(file.contents.byteLength).padStart(9)} min ${kB(file.gzipBytes).padStart(8)} gz  ${file.eager ? 'loaded up front' : 'loaded on demand'}`,
  );
  const eager = files.filter((file) => file.eager);
  const min = eager.reduce((sum, file) => sum + file.contents.byteLength, 0);
  const gz = eager.reduce((sum, file) => sum + file.gzipBytes, 0);
  lines.push(`  browser client up front: ${kB(min)} minified, ${kB(gz)} minified+gzipped`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await bundleBrowserClient();
  console.log(`dist/${BUNDLE_ENTRY}:\n${describeBundle(files)}`);
}
