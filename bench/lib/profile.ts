/**
 * Node flags that make a server process write a V8 CPU profile when it exits.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './children.js';

/** Directory of the profiles (git-ignored). */
export const CPU_PROFILE_DIR = join(REPO_ROOT, 'bench', 'results', 'tmp', 'cpu-prof');

/**
 * Flags for profiles in `CPU_PROFILE_DIR/<name>/`: one file per thread, the main thread's
 * being the one with thread id 0 in its name. Open it in Chrome DevTools or VS Code.
 */
export function cpuProfFlags(name: string): string[] {
  const directory = join(CPU_PROFILE_DIR, name);
  mkdirSync(directory, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${directory}`];
}
