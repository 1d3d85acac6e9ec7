/**
 * Compiles wsmesh with `tsc` (as users run it) into bench/results/tmp/wsmesh-dist, so the
 * measured code is not tsx's on-the-fly transform (which wraps named closures in `__name`
 * helpers and so adds work to every closure created per message).
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './children.js';

/** Environment variable naming the compiled entry point for the children. */
export const WSMESH_ENTRY_ENV = 'WSMESH_BENCH_ENTRY';

const OUT_DIR = join(REPO_ROOT, 'bench', 'results', 'tmp', 'wsmesh-dist');

/**
 * Builds wsmesh (incrementally, so repeated runs are quick) and returns the path of its
 * compiled `index.js`. Throws when nothing was emitted.
 */
export function buildWsMesh(): string {
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [
      tsc,
      '-p',
      'tsconfig.build.json',
      '--outDir',
      OUT_DIR,
      '--declaration',
      'false',
      '--declarationMap',
      'false',
      '--sourceMap',
      'false',
      '--incremental',
      '--tsBuildInfoFile',
      join(OUT_DIR, '.tsbuildinfo'),
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 180_000, killSignal: 'SIGKILL' },
  );
  const entry = join(OUT_DIR, 'index.js');
  if (result.error !== undefined) throw new Error(`tsc failed to run: ${result.error.message}`);
  if (!existsSync(entry)) {
    throw new Error(`tsc emitted no ${entry}:\n${result.stdout}${result.stderr}`);
  }
  if (result.status !== 0) {
    const errors = result.stdout.split('\n').filter((line) => line.includes('error TS')).length;
    console.log(
      `note: tsc reported ${errors} type error(s) in src; the emitted code is used anyway`,
    );
  }
  return entry;
}
